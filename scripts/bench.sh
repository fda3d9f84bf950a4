#!/usr/bin/env bash
# make bench: release builds of the host and the benchmark plugin, then the table.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product sergeant-host
swift build -c release --product sergeant-bench
swift build -c release --package-path Plugins-Examples/benchmark
mkdir -p bench/results
.build/release/sergeant-bench --csv bench/results/latest.csv "$@"
