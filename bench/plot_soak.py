"""Draws bench/results/soak.png from the CSV `make soak` writes (headless, Agg).

  plot_soak.py soak.csv soak.png

One column per executor; rows: each worker's RSS (MB), each worker's open descriptors, and
Redis's used_memory (MB), against the tasks worked. The dashed line marks the end of the
warm-up (the baseline sample).
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def main(source, target):
    with open(source, newline='') as handle:
        rows = list(csv.DictReader(handle))
    executors = []
    for row in rows:
        if row['executor'] not in executors:
            executors.append(row['executor'])
    figure, axes = plt.subplots(3, len(executors), figsize=(6 * len(executors), 9), squeeze=False, sharex='col')
    for column, executor in enumerate(executors):
        mine = [row for row in rows if row['executor'] == executor]
        workers = defaultdict(list)
        for row in mine:
            if row['role'] == 'worker':
                workers[row['pid']].append(row)
        for index, (pid, samples) in enumerate(sorted(workers.items())):
            worked = [int(s['worked']) / 1e6 for s in samples]
            axes[0][column].plot(worked, [int(s['rss_kb']) / 1024 for s in samples], marker='.', label=f'worker {index + 1} (pid {pid})')
            axes[1][column].plot(worked, [int(s['fds']) for s in samples], marker='.', label=f'worker {index + 1}')
        redis = {}
        for row in mine:
            redis[int(row['worked'])] = int(row['redis_used_memory']) / 1_048_576
        axes[2][column].plot([k / 1e6 for k in sorted(redis)], [redis[k] for k in sorted(redis)], marker='.', color='tab:red')
        warm = next((int(row['worked']) / 1e6 for row in mine if row['phase'] != 'warm-up'), None)
        for axis in axes[:, column]:
            if warm is not None:
                axis.axvline(warm, color='grey', linestyle='--', linewidth=1)
            axis.grid(True, alpha=0.3)
        axes[0][column].set_title(f'{executor} executor')
        axes[0][column].set_ylabel('worker RSS (MB)')
        axes[0][column].set_ylim(bottom=0)
        axes[0][column].legend(fontsize=8)
        axes[1][column].set_ylabel('worker open fds')
        axes[1][column].set_ylim(bottom=0)
        axes[2][column].set_ylabel('redis used_memory (MB)')
        axes[2][column].set_ylim(bottom=0)
        axes[2][column].set_xlabel('tasks worked (millions); dashed: end of warm-up')
    figure.suptitle('make soak: worker RSS, descriptors and Redis memory')
    figure.tight_layout()
    figure.savefig(target, dpi=90)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
