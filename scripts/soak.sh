#!/usr/bin/env bash
# make soak: 2,000,000 tasks through two worker processes per executor (serial, threaded),
# sampling the workers' RSS and descriptors and Redis's used_memory; writes
# bench/results/soak.{csv,txt} and soak.png and fails when a worker grows after warm-up.
# Release builds (as `make bench`, in .build-bench). Arguments go to sergeant-soak
# (make soak SOAK_ARGS="--tasks 500000 --executors threaded").
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-bench
results=bench/results

# matplotlib (the plot) lives in .venv-bench, as for `make bench`.
venv=.venv-bench
if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import matplotlib' 2>/dev/null \
    || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check matplotlib

for product in sergeant-host sergeant-worker sergeant-soak; do
    swift build -c release --scratch-path "$scratch" --product "$product"
done
swift build -c release --disable-build-manifest-caching --package-path Plugins-Examples/benchmark

# Which code the figures are for: the commit, and whether the project's sources differed from it.
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- Sources Package.swift Plugins-Examples/benchmark 2>/dev/null || revision="$revision + uncommitted changes"

mkdir -p "$results"
status=0
"$scratch/release/sergeant-soak" --bin "$scratch/release" --plugin "$PWD/Plugins-Examples/benchmark/.build/release/libbenchmark.so" \
    --revision "$revision" --csv "$results/soak.csv" --summary "$results/soak.txt" "$@" || status=$?
[ -s "$results/soak.csv" ] && "$venv/bin/python" bench/plot_soak.py "$results/soak.csv" "$results/soak.png"
exit $status
