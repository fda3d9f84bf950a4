"""Pushes tasks with Python sergeant's Worker.push_task / push_tasks.

    producer.py --redis URLS --compressor C --queue Q --kwargs-file F [--priority HIGH]
                [--delay SECONDS] [--trace-id T] [--bulk] [--report R]

F holds one typed-JSON kwargs map per line (see interop_common). Without --bulk every task
is pushed with its own push_task call (so with several nodes they rotate over the nodes);
with --bulk all go in one push_tasks call. R receives one JSON object: the consumable_from
used, and per task the hex of the msgpack bytes sergeant's serializer writes for a Task with
these kwargs, this trace id, date 0.0 and run_count 0 (a byte-for-byte reference).
"""
import argparse
import json
import time

import sergeant.objects

import interop_common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    interop_common.add_connection_arguments(parser)
    parser.add_argument('--kwargs-file', required=True)
    parser.add_argument('--priority', default='NORMAL', choices=['NORMAL', 'HIGH'])
    parser.add_argument('--delay', type=float, default=None)
    parser.add_argument('--trace-id', default=None)
    parser.add_argument('--bulk', action='store_true')
    parser.add_argument('--purge', action='store_true')
    parser.add_argument('--report', default=None)
    arguments = parser.parse_args()
    interop_common.start_deadline(arguments.deadline)

    kwargs_list = interop_common.read_typed_lines(arguments.kwargs_file)
    for kwargs in kwargs_list:
        if type(kwargs) is not dict:
            raise SystemExit(f'every line of {arguments.kwargs_file} must be a map')

    worker = interop_common.make_worker(arguments)
    if arguments.purge:
        worker.purge_tasks()

    consumable_from = None if arguments.delay is None else time.time() + arguments.delay
    if arguments.bulk:
        worker.push_tasks(
            kwargs_list=kwargs_list,
            priority=arguments.priority,
            consumable_from=consumable_from,
            trace_id=arguments.trace_id,
        )
    else:
        for kwargs in kwargs_list:
            worker.push_task(
                kwargs=kwargs,
                priority=arguments.priority,
                consumable_from=consumable_from,
                trace_id=arguments.trace_id,
            )

    serializer = worker.broker.encoder.serializer
    references = [
        serializer.serialize(
            data=sergeant.objects.Task(kwargs=kwargs, trace_id=arguments.trace_id, date=0.0, run_count=0),
        ).hex()
        for kwargs in kwargs_list
    ]
    if arguments.report:
        with open(arguments.report, 'w', encoding='utf-8') as report:
            json.dump({
                'pushed': len(kwargs_list),
                'consumable_from': consumable_from,
                'references': references,
            }, report)
    print(f'pushed {len(kwargs_list)} task(s) to {arguments.queue}', flush=True)


if __name__ == '__main__':
    main()
