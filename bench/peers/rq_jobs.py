"""RQ's no-op job for `make bench` (bench/peers/rq_bench.py pushes and works it)."""
import peer_report


def noop(some_parameter):
    """Does nothing but count itself for the `done` report line."""
    peer_report.TALLY.started()
    peer_report.TALLY.finished()
