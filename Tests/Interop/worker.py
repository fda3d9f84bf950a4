"""Consumes tasks with a real Python sergeant Worker and writes what it received.

    worker.py --redis URLS --compressor C --queue Q --tasks N --output F [--forward QUEUE]

It runs sergeant's own work loop (Worker.init_worker + Worker.work_loop, what sergeant's
slave process does) with max_tasks_per_run N, so it ends after N tasks. For each task it
appends one JSON line to F: {"kwargs": typed, "trace_id", "run_count", "date", "received",
"pid"}. With --forward it also pushes the task's kwargs to QUEUE (the trace id follows).
"""
import argparse
import os
import sys
import time

import sergeant.worker

import interop_common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    interop_common.add_connection_arguments(parser)
    parser.add_argument('--tasks', type=int, required=True)
    parser.add_argument('--output', required=True)
    parser.add_argument('--forward', default=None)
    parser.add_argument('--tasks-per-transaction', type=int, default=1)
    arguments = parser.parse_args()
    interop_common.start_deadline(arguments.deadline)

    class RecordingWorker(sergeant.worker.Worker):
        def work(self, task):
            interop_common.write_json_line(arguments.output, {
                'kwargs': interop_common.to_typed(task.kwargs),
                'trace_id': task.trace_id,
                'run_count': task.run_count,
                'date': task.date,
                'received': time.time(),
                'pid': os.getpid(),
            })
            if arguments.forward:
                self.push_task(kwargs=task.kwargs, task_name=arguments.forward)

    worker = interop_common.make_worker(
        arguments,
        base=RecordingWorker,
        max_tasks_per_run=arguments.tasks,
        tasks_per_transaction=arguments.tasks_per_transaction,
    )
    print(f'python worker {os.getpid()} consuming {arguments.tasks} task(s) from {arguments.queue}', flush=True)
    summary = worker.work_loop()
    failed = summary['executor_exception'] or summary['initialize_exception'] or summary['finalize_exception']
    print(f'python worker done: {summary}', flush=True)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
