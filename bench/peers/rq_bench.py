"""RQ's side of `make bench`: a no-op job, pushed and worked through RQ's own API.

  rq_bench.py push --mode one|bulk --tasks N   times Queue.enqueue per job, or one
                                               Queue.enqueue_many (one pipeline); prints
                                               `seconds S vmhwm_kb K`
  rq_bench.py fill --tasks N                   enqueues N jobs in bulk, untimed
  rq_bench.py work                             one SimpleWorker (this process works the jobs
                                               itself: RQ's default Worker forks a child per
                                               job) with logging at WARNING (no line per job)

Settings: bench/peers/peer_report.py. The job is `rq_jobs.noop` (PYTHONPATH=bench/peers): a
worker imports a job's function by its module's name, never from `__main__`.
"""
import argparse
import logging
import time

import redis
import rq

import peer_report
from rq_jobs import noop


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('action', choices=['push', 'fill', 'work'])
    parser.add_argument('--mode', choices=['one', 'bulk'], default='bulk')
    parser.add_argument('--tasks', type=int, default=0)
    arguments = parser.parse_args()

    connection = redis.Redis.from_url(peer_report.redis_url())
    queue = rq.Queue(peer_report.queue_name(), connection=connection)
    if arguments.action == 'work':
        worker = rq.SimpleWorker([queue], connection=connection)
        worker.work(logging_level='WARNING', with_scheduler=False)
        return

    queue.empty()
    if arguments.action == 'fill' or arguments.mode == 'bulk':
        start = time.perf_counter()
        jobs = [rq.Queue.prepare_data(noop, kwargs=peer_report.KWARGS) for _ in range(arguments.tasks)]
        queue.enqueue_many(jobs)
    else:
        start = time.perf_counter()
        for _ in range(arguments.tasks):
            queue.enqueue(noop, kwargs=peer_report.KWARGS)
    seconds = time.perf_counter() - start
    if arguments.action == 'push':
        print(f'seconds {seconds!r} vmhwm_kb {peer_report.peak_resident_kilobytes()}')


if __name__ == '__main__':
    logging.basicConfig(level=logging.WARNING)
    main()
