#!/usr/bin/env bash
# make bench: this project vs Python sergeant 0.27, Sidekiq, RQ and Dramatiq vs the bare Redis
# limit, on one private redis-server; prints the table, writes bench/results/latest.{csv,txt}
# and ratios.png. Arguments go to sergeant-bench (e.g. --tasks 10000 --runs 1 --sections main;
# --no-peers skips Sidekiq, RQ and Dramatiq and installs none of them; --no-callgrind skips
# the Ir/task column and valgrind; sergeant-bench run --help lists the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-bench
results=bench/results

peers=1
callgrind=1
for argument in "$@"; do
    case "$argument" in
        --no-peers) peers=0 ;;
        --no-callgrind) callgrind=0 ;;
    esac
done

need=()
command -v taskset >/dev/null || need+=(util-linux)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
# The peers: Sidekiq is Debian's ruby-sidekiq, at the version apt gives.
[ "$peers" = 0 ] || command -v sidekiq >/dev/null || need+=(ruby-sidekiq)
[ "$callgrind" = 0 ] || command -v valgrind >/dev/null || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Python sergeant 0.27 from PyPI: the shared venv of the interop tests when its script is
# there, else this benchmark's own. matplotlib (the chart) always lives in .venv-bench.
venv=.venv-bench
if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    python3 -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"$venv/bin/python" -c 'import matplotlib' 2>/dev/null || "${pip[@]}" matplotlib
if [ -x scripts/python-venv.sh ]; then
    scripts/python-venv.sh
    python=.venv-sergeant/bin/python
else
    "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('sergeant') != '0.27.0')" 2>/dev/null \
        || "${pip[@]}" sergeant==0.27.0
    python=$venv/bin/python
fi

# RQ and Dramatiq from PyPI, pinned, in a venv of their own (redis-py's version suits both).
peer_venv=.venv-peers
peer_requirements=(rq==2.12.0 "dramatiq[redis]==2.2.1" redis==8.1.0)
if [ "$peers" = 1 ]; then
    if ! "$peer_venv/bin/python" -c "import importlib.metadata as m, sys
sys.exit((m.version('rq'), m.version('dramatiq'), m.version('redis')) != ('2.12.0', '2.2.1', '8.1.0'))" 2>/dev/null; then
        echo "creating $peer_venv with ${peer_requirements[*]}"
        rm -rf "$peer_venv"
        python3 -m venv "$peer_venv"
        "$peer_venv/bin/python" -m pip install --quiet --disable-pip-version-check "${peer_requirements[@]}"
    fi
    echo "peers: $(dpkg-query -W -f '${Package} ${Version}' ruby-sidekiq) (apt), ${peer_requirements[*]} (PyPI)"
fi

swift build -c release --scratch-path "$scratch" --product sergeant-host
swift build -c release --scratch-path "$scratch" --product sergeant-worker
swift build -c release --scratch-path "$scratch" --product sergeant-bench
swift build -c release --disable-build-manifest-caching --package-path Plugins-Examples/benchmark
cc -O2 -Wall -Wextra -Werror bench/raw_redis.c -o "$scratch/raw_redis" -lhiredis

# Which code the figures are for: the commit, and whether the project's sources differed from it.
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- Sources Package.swift ':!Sources/sergeant-bench' 2>/dev/null || revision="$revision + uncommitted changes"

mkdir -p "$results"
"$scratch/release/sergeant-bench" run --bin "$scratch/release" --raw "$scratch/raw_redis" --python "$python" --peer-python "$peer_venv/bin/python" \
    --revision "$revision" --csv "$results/latest.csv" --table "$results/latest.txt" "$@"
"$venv/bin/python" bench/plot_ratios.py "$results/latest.csv" "$results/ratios.png"
