"""What the Python peers' no-op jobs share (bench/peers/rq_bench.py, dramatiq_bench.py): the
Redis URL, and the report line `make bench` waits for, in the format of
bench/sergeant_bench_worker.py:

  done PID COUNT FIRST LAST KB   every one of BENCH_TASKS jobs ran: their count, the start of
                                 the first, the end of the last (Unix time), VmHWM in kB

Settings come from the environment: BENCH_REDIS_PORTS (the first port, on 127.0.0.1),
BENCH_QUEUE, BENCH_TASKS (jobs the worker is to run), BENCH_REPORT (the file the line is
appended to, with one os.write on an O_APPEND file).
"""
import os
import threading
import time

KWARGS = {'some_parameter': 'one'}


def setting(name, fallback):
    value = os.environ.get(name, '')
    return value if value else fallback


def redis_url():
    return f"redis://127.0.0.1:{setting('BENCH_REDIS_PORTS', '6379').split(',')[0]}/0"


def queue_name():
    return setting('BENCH_QUEUE', 'benchmark')


def peak_resident_kilobytes():
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Tally:
    """Counts finished jobs (from any thread) and writes the `done` line at the last one."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.first = None
        self.last = 0.0
        self.wanted = int(setting('BENCH_TASKS', '0'))

    def started(self):
        now = time.time()
        with self.lock:
            if self.first is None:
                self.first = now

    def finished(self):
        now = time.time()
        with self.lock:
            self.count += 1
            self.last = max(self.last, now)
            if self.count != self.wanted:
                return
            line = f'done {os.getpid()} {self.count} {self.first!r} {self.last!r} {peak_resident_kilobytes()}\n'
        path = os.environ.get('BENCH_REPORT')
        if not path:
            print(line, end='', flush=True)
            return
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line.encode())
        finally:
            os.close(descriptor)


TALLY = Tally()
