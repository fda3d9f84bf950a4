"""The Python side of `make bench`: the same counting worker as Plugins-Examples/benchmark,
for Python sergeant 0.27, run by `python -m sergeant.supervisor` (PYTHONPATH=bench).

Settings come from the environment, as the Swift plugin's do: BENCH_REDIS_PORTS (comma
separated, on 127.0.0.1), BENCH_QUEUE, BENCH_TASKS_PER_TRANSACTION, BENCH_COMPRESSOR
(none or zlib...), BENCH_REPORT (the file report lines are appended to), BENCH_THREADS
(number_of_threads, the threaded executor), BENCH_SLEEP_MS (each task time.sleep()s this long:
the IO-bound rows).

Report lines, one os.write each on an O_APPEND file:
  ready PID TIME                 the worker process started its work loop (initialize)
  first_done PID TIME            its first task finished
  latency PID PUSHED STARTED     a task carrying a pushed_at kwarg started
  done PID COUNT FIRST LAST KB   the queue ran dry (on_starvation) and in finalize: tasks
                                 worked, start of the first, end of the last, VmHWM in kB
"""
import logging
import os
import threading
import time

import sergeant


def _setting(name, fallback):
    value = os.environ.get(name, '')
    return value if value else fallback


def peak_resident_kilobytes():
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


SLEEP_SECONDS = int(_setting('BENCH_SLEEP_MS', '0')) / 1000


class Worker(sergeant.worker.Worker):
    def generate_config(self):
        compressor = _setting('BENCH_COMPRESSOR', 'none')
        ports = [int(port) for port in _setting('BENCH_REDIS_PORTS', '6379').split(',')]
        return sergeant.config.WorkerConfig(
            name=_setting('BENCH_QUEUE', 'benchmark'),
            connector=sergeant.config.Connector(
                type='redis',
                params={
                    'nodes': [
                        {'host': '127.0.0.1', 'port': port, 'password': None, 'database': 0}
                        for port in ports
                    ],
                },
            ),
            max_tasks_per_run=0,
            number_of_threads=int(_setting('BENCH_THREADS', '1')),
            tasks_per_transaction=int(_setting('BENCH_TASKS_PER_TRANSACTION', '1')),
            encoder=sergeant.config.Encoder(
                serializer='msgpack',
                compressor=None if compressor == 'none' else compressor,
            ),
            starvation=sergeant.config.Starvation(time_with_no_tasks=1),
            logging=sergeant.config.Logging(
                level=logging.INFO,
                log_to_stdout=True,
                events=sergeant.config.LoggingEvents(on_starvation=False),
            ),
        )

    def initialize(self):
        self.lock = threading.Lock()
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        path = os.environ.get('BENCH_REPORT')
        self.report = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path else None
        self.emit(f'ready {os.getpid()} {time.time()!r}')

    def work(self, task):
        started = time.time()
        pushed = task.kwargs.get('pushed_at')
        if pushed is not None:
            self.emit(f'latency {os.getpid()} {pushed!r} {started!r}')
        if SLEEP_SECONDS > 0:
            time.sleep(SLEEP_SECONDS)
        ended = time.time()
        with self.lock:
            self.count_task(started, ended)

    def count_task(self, started, ended):
        if self.count == 0:
            self.first = started
        self.count += 1
        self.last = max(self.last, ended)
        if self.count == 1:
            self.emit(f'first_done {os.getpid()} {ended!r}')

    def on_starvation(self, time_with_no_tasks):
        self.emit_totals()

    def finalize(self):
        self.emit_totals()

    def emit_totals(self):
        self.emit(f'done {os.getpid()} {self.count} {self.first!r} {self.last!r} {peak_resident_kilobytes()}')

    def emit(self, line):
        if self.report is None:
            self.logger.info(f'benchmark: {line}')
        else:
            os.write(self.report, (line + '\n').encode())
