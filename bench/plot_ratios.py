"""Draws bench/results/ratios.png from the CSV `make bench` writes (headless, Agg).

  plot_ratios.py latest.csv ratios.png

Left: how many times faster than Python sergeant 0.27 and than Sidekiq (its fastest row of
the kind, when the run measured it) each of this project's rows is (their seconds per task /
ours, log scale). Right: the share of the bare Redis limit each row
reaches (the limit's seconds / the row's), this project beside Python sergeant.
"""
import csv
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

SHORT = {
    'push one by one': 'push 1 by 1',
    'push in bulk (one call)': 'push bulk',
    'consume 1 per transaction': 'consume 1/txn',
    'consume 1000 per transaction': 'consume 1000/txn',
}


def label(row):
    if row['section'] == 'scaling':
        return 'scaling: ' + row['row'].replace(' redis node', ' node')
    words = [SHORT.get(row['row'], row['row']), row['encoding'].replace('msgpack+', '+').replace('msgpack', 'plain')]
    if row['at_least_once']:
        words.append('ALO' if row['at_least_once'] == 'true' else 'AMO')
    return ' '.join(words)


def number(text):
    return float(text) if text else None


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, newline='') as file:
        rows = [row for row in csv.DictReader(file) if row['section'] in ('main', 'scaling')]
    ours = [row for row in rows if row['system'] == 'this' and number(row['seconds_median'])]
    python = {
        (row['row'], row['encoding']): number(row['ratio_vs_limit'])
        for row in rows if row['system'] == 'python'
    }
    if not ours:
        print(f'no throughput rows in {source}; {target} left as it was')
        return

    labels = [label(row) for row in ours]
    positions = list(range(len(ours)))[::-1]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 0.42 * len(ours) + 1.8), sharey=True)

    speedups = [number(row['ratio_vs_python']) or 0 for row in ours]
    sidekiq = [number(row.get('ratio_vs_sidekiq', '')) or 0 for row in ours]
    pair = 0.4 if any(sidekiq) else 0
    left.barh([p + pair / 2 for p in positions], speedups, pair or 0.8, color='#3b6ea8', label='x Python sergeant 0.27')
    if pair:
        left.barh([p - pair / 2 for p in positions], sidekiq, pair, color='#b03a48', label='x Sidekiq')
        left.legend(loc='lower right', fontsize=8)
    left.axvline(1, color='black', linewidth=0.8)
    left.set_xscale('log')
    values = [value for value in speedups + sidekiq if value]
    low = min(values + [1.0])
    high = max(values + [1.0])
    ticks = [tick for tick in (0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500) if low / 1.5 <= tick <= high * 1.5]
    left.set_xticks(ticks)
    left.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f'{value:g}x'))
    left.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    left.set_xlim(low / 1.6, high * 1.6)
    left.set_xlabel("x Python sergeant 0.27 and x Sidekiq (their seconds per task / ours; log scale)")
    left.set_yticks(positions)
    left.set_yticklabels(labels, fontsize=8)
    for position, value in zip(positions, speedups):
        if value:
            left.text(value, position + pair / 2, f' {value:.1f}x', va='center', fontsize=7)
    for position, value in zip(positions, sidekiq):
        if value:
            left.text(value, position - pair / 2, f' {value:.1f}x', va='center', fontsize=7)

    height = 0.4
    ours_limit = [100 * (number(row['ratio_vs_limit']) or 0) for row in ours]
    python_limit = [
        100 * (python.get((row['row'], row['encoding'])) or 0) if row['section'] == 'main' else 0
        for row in ours
    ]
    right.barh([p + height / 2 for p in positions], ours_limit, height, color='#3b6ea8', label='this project')
    right.barh([p - height / 2 for p in positions], python_limit, height, color='#e0a030', label='Python sergeant 0.27')
    right.axvline(100, color='black', linewidth=0.8)
    right.set_xlabel("% of the bare Redis limit (hiredis loop / redis-benchmark -P 1000)")
    right.legend(loc='lower right', fontsize=8)
    for position, value in zip(positions, ours_limit):
        if value:
            right.text(value, position + height / 2, f' {value:.0f}%', va='center', fontsize=7)

    figure.suptitle('sergeant for Swift, make bench: medians per row (how it was run: bench/results/latest.txt)', fontsize=10)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    print(f'wrote {target}')


if __name__ == '__main__':
    main()
