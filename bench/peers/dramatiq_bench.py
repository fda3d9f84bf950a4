"""Dramatiq's side of `make bench`: a no-op actor on Dramatiq's RedisBroker.

  dramatiq_bench.py push --tasks N   times actor.send per message (Dramatiq has no bulk
                                     enqueue: a group sends message by message); prints
                                     `seconds S vmhwm_kb K`
  dramatiq_bench.py fill --tasks N   sends N messages, untimed
  python -m dramatiq dramatiq_bench --processes 1 --threads T
                                     the worker: Dramatiq's CLI, one worker process; it logs
                                     nothing per message at its default level

Settings: bench/peers/peer_report.py (PYTHONPATH=bench/peers).
"""
import argparse
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

import peer_report

dramatiq.set_broker(RedisBroker(url=peer_report.redis_url()))


@dramatiq.actor(queue_name=peer_report.queue_name())
def noop(some_parameter):
    peer_report.TALLY.started()
    peer_report.TALLY.finished()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('action', choices=['push', 'fill'])
    parser.add_argument('--mode', choices=['one'], default='one')
    parser.add_argument('--tasks', type=int, required=True)
    arguments = parser.parse_args()

    broker = dramatiq.get_broker()
    broker.flush_all()
    noop.send(**peer_report.KWARGS)  # connects outside the timed span
    broker.flush_all()
    start = time.perf_counter()
    for _ in range(arguments.tasks):
        noop.send(**peer_report.KWARGS)
    seconds = time.perf_counter() - start
    if arguments.action == 'push':
        print(f'seconds {seconds!r} vmhwm_kb {peer_report.peak_resident_kilobytes()}')


if __name__ == '__main__':
    main()
