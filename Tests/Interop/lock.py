"""Uses Python sergeant's Lock (Worker.lock), against the Swift side's locks.

    lock.py ... --name N hold --report F --release-file R [--ttl S]
        acquires the lock, writes {"acquired": true} to F, waits until R exists, releases
        the lock and appends {"released": bool}.
    lock.py ... --name N try --report F [--timeout S]
        writes {"is_locked": bool, "acquired": bool, "released": bool}: whether the lock
        was held, whether acquire(timeout) got it, and the release of a lock it got.
"""
import argparse
import os
import time

import interop_common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    interop_common.add_connection_arguments(parser)
    parser.add_argument('--name', required=True)
    parser.add_argument('--report', required=True)
    commands = parser.add_subparsers(dest='command', required=True)
    hold = commands.add_parser('hold')
    hold.add_argument('--release-file', required=True)
    hold.add_argument('--ttl', type=int, default=60)
    attempt = commands.add_parser('try')
    attempt.add_argument('--timeout', type=float, default=0.5)
    arguments = parser.parse_args()
    interop_common.start_deadline(arguments.deadline)

    worker = interop_common.make_worker(arguments)
    lock = worker.lock(arguments.name)

    if arguments.command == 'hold':
        acquired = lock.acquire(timeout=10, check_interval=0.05, ttl=arguments.ttl)
        interop_common.write_json_line(arguments.report, {'acquired': acquired})
        if not acquired:
            raise SystemExit(1)
        while not os.path.exists(arguments.release_file):
            time.sleep(0.02)
        interop_common.write_json_line(arguments.report, {'released': lock.release()})
    else:
        is_locked = lock.is_locked()
        acquired = lock.acquire(timeout=arguments.timeout, check_interval=0.05, ttl=30)
        released = lock.release() if acquired else False
        interop_common.write_json_line(arguments.report, {
            'is_locked': is_locked,
            'acquired': acquired,
            'released': released,
        })


if __name__ == '__main__':
    main()
