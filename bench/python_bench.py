"""The Python producer side of `make bench`, through Python sergeant 0.27's own API, as its
benchmark/1_simple_worker/sergeant/producer_push_task(s).py do.

  python_bench.py push --mode one|bulk --tasks N    times the pushes; prints `seconds S vmhwm_kb K`
  python_bench.py push --mode threads --threads T --tasks N
                                                  push_task one by one from T threads at once
  python_bench.py fill --tasks N                    pushes N tasks in bulk, untimed

The queue, Redis ports and compressor come from the environment (BENCH_QUEUE,
BENCH_REDIS_PORTS, BENCH_COMPRESSOR), read by the worker class's generate_config.
"""
import argparse
import threading
import time

import sergeant_bench_worker

KWARGS = {'some_parameter': 'one'}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('action', choices=['push', 'fill'])
    parser.add_argument('--mode', choices=['one', 'bulk', 'threads'], default='bulk')
    parser.add_argument('--tasks', type=int, required=True)
    parser.add_argument('--threads', type=int, default=16)
    arguments = parser.parse_args()

    worker = sergeant_bench_worker.Worker()
    worker.init_broker()
    worker.purge_tasks()

    if arguments.action == 'fill':
        worker.push_tasks(kwargs_list=[KWARGS] * arguments.tasks)
        return

    start = time.perf_counter()
    if arguments.mode == 'threads':
        share = arguments.tasks // arguments.threads
        counts = [share + (1 if index < arguments.tasks % arguments.threads else 0) for index in range(arguments.threads)]

        def push(count):
            for _ in range(count):
                worker.push_task(kwargs=KWARGS)

        threads = [threading.Thread(target=push, args=(count,)) for count in counts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elif arguments.mode == 'one':
        for _ in range(arguments.tasks):
            worker.push_task(kwargs=KWARGS)
    else:
        worker.push_tasks(kwargs_list=[KWARGS] * arguments.tasks)
    seconds = time.perf_counter() - start
    print(f'seconds {seconds!r} vmhwm_kb {sergeant_bench_worker.peak_resident_kilobytes()}')


if __name__ == '__main__':
    main()
