#!/usr/bin/env bash
# make callgrind: instructions per task of one sergeant-worker process consuming tasks from a
# private redis-server, counted by valgrind --tool=callgrind (the worker process only; the
# producer and Redis are not counted). Deterministic, unlike wall time, so two commits compare
# on a busy machine: run it on two checkouts and divide.
#
#   scripts/callgrind-consume.sh [options] [CHECKOUT]
#
#   CHECKOUT                 repository checkout to build and measure (default: this one);
#                            any commit whose sergeant-worker takes --worker-module/--worker-class
#                            and SERGEANT_REDIS, and whose sergeant CLI has push --count
#   --tasks N                tasks of the measured run (default 20000)
#   --baseline M             tasks of the start-up run subtracted from it (default 1000);
#                            the marginal cost is (Ir(N) - Ir(M)) / (N - M)
#   --per-transaction K      BENCH_TASKS_PER_TRANSACTION (default 1000)
#   --at-least-once 0|1      BENCH_AT_LEAST_ONCE (default 1)
#   --out DIR                where callgrind.out files and logs go (default CHECKOUT/.build-callgrind/out)
#   --no-build               use the binaries a previous run built
#
# Prints one summary line per run and a final `result` line:
#   result commit=<sha> mode=<at-least-once|at-most-once> per_transaction=K tasks=N baseline=M
#          ir_n=... ir_baseline=... ir_per_task_total=... ir_per_task_marginal=...
# Inspect the profiles with: callgrind_annotate --inclusive=yes DIR/callgrind.<...>.out
set -euo pipefail

tasks=20000
baseline=1000
per_transaction=1000
at_least_once=1
out=""
build=1
checkout=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tasks) tasks=$2; shift 2 ;;
        --baseline) baseline=$2; shift 2 ;;
        --per-transaction) per_transaction=$2; shift 2 ;;
        --at-least-once) at_least_once=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        -*) echo "callgrind-consume: unknown option $1" >&2; exit 64 ;;
        *) checkout=$1; shift ;;
    esac
done
[ -n "$checkout" ] || checkout="$(dirname "$0")/.."
checkout=$(cd "$checkout" && pwd)
[ "$tasks" -gt "$baseline" ] || { echo "callgrind-consume: --tasks must exceed --baseline" >&2; exit 64; }
for tool in valgrind callgrind_annotate redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "callgrind-consume: needs $tool (apt-get install valgrind redis-server redis-tools)" >&2; exit 69; }
done

scratch="$checkout/.build-callgrind"
plugin_scratch="$scratch/plugin-benchmark"
[ -n "$out" ] || out="$scratch/out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
commit=$(git -C "$checkout" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$checkout" diff --quiet HEAD -- Sources Package.swift Plugins-Examples/benchmark 2>/dev/null || commit="$commit+dirty"
mode=$([ "$at_least_once" = 1 ] && echo at-least-once || echo at-most-once)

# Release builds, one at a time and niced: other builds share the cores.
if [ "$build" = 1 ]; then
    (cd "$checkout"
     nice -n 10 swift build -c release --scratch-path "$scratch" --product sergeant-worker
     nice -n 10 swift build -c release --scratch-path "$scratch" --product sergeant
     nice -n 10 swift build -c release --disable-build-manifest-caching --package-path Plugins-Examples/benchmark \
         --scratch-path "$plugin_scratch")
fi
bin="$scratch/release"
plugin="$plugin_scratch/release/libbenchmark.so"
for file in "$bin/sergeant-worker" "$bin/sergeant" "$plugin"; do
    [ -e "$file" ] || { echo "callgrind-consume: $file missing (run without --no-build)" >&2; exit 66; }
done

# A private redis-server on a free loopback port, stopped on exit.
redis_pid=""
cleanup() { [ -z "$redis_pid" ] || { kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null || true; }; }
trap cleanup EXIT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$out" >"$out/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 50); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.1
    done
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
done
[ -n "$redis_pid" ] || { echo "callgrind-consume: could not start redis-server" >&2; exit 70; }
rcli() { redis-cli -p "$port" "$@"; }

export SERGEANT_REDIS="redis://127.0.0.1:$port/0"
export BENCH_REDIS_PORTS=$port
export BENCH_QUEUE=benchmark
export BENCH_TASKS_PER_TRANSACTION=$per_transaction
export BENCH_AT_LEAST_ONCE=$at_least_once
export BENCH_COMPRESSOR=none
export BENCH_THREADS=1

# Total instructions (Ir) of one worker that consumes $1 tasks and then ends by itself
# (BENCH_MAX_TASKS); the profile is kept in $out.
measure() {
    local count=$1 name="callgrind.$commit.$mode.tx$per_transaction.$1"
    rcli flushall >/dev/null
    # The bench rows' kwargs ({"some_parameter": "one"}), pushed in one round trip.
    "$bin/sergeant" push --worker-module "$plugin" --worker-class Worker --count "$count" \
        --kwargs '{"some_parameter":"one"}' >"$out/$name.push.log" 2>&1 \
        || { cat "$out/$name.push.log" >&2; exit 1; }
    local queued=0 key
    for key in $(rcli --scan); do
        [ "$(rcli type "$key")" = list ] && queued=$((queued + $(rcli llen "$key")))
    done
    [ "$queued" = "$count" ] || { echo "callgrind-consume: $queued tasks queued, wanted $count" >&2; exit 1; }
    rm -f "$out/$name.report"
    BENCH_MAX_TASKS=$count BENCH_REPORT="$out/$name.report" \
        valgrind --tool=callgrind --callgrind-out-file="$out/$name.out" \
        "$bin/sergeant-worker" --worker-module "$plugin" --worker-class Worker >"$out/$name.log" 2>&1 \
        || { tail -20 "$out/$name.log" >&2; echo "callgrind-consume: worker failed" >&2; exit 1; }
    local left=0
    for key in $(rcli --scan); do
        [ "$(rcli type "$key")" = list ] && left=$((left + $(rcli llen "$key")))
    done
    local done_count
    done_count=$(awk '$1 == "done" { n = $3 } END { print n + 0 }' "$out/$name.report" 2>/dev/null || echo 0)
    [ "$done_count" = "$count" ] || { echo "callgrind-consume: worker reports $done_count tasks done, wanted $count" >&2; exit 1; }
    local ir
    ir=$(callgrind_annotate "$out/$name.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
    echo "run commit=$commit mode=$mode per_transaction=$per_transaction tasks=$count ir=$ir left_in_lists=$left profile=$out/$name.out" >&2
    echo "$ir"
}

ir_baseline=$(measure "$baseline")
ir_n=$(measure "$tasks")
awk -v c="$commit" -v m="$mode" -v k="$per_transaction" -v n="$tasks" -v b="$baseline" -v irn="$ir_n" -v irb="$ir_baseline" 'BEGIN {
    printf "result commit=%s mode=%s per_transaction=%s tasks=%s baseline=%s ir_n=%s ir_baseline=%s ir_per_task_total=%.0f ir_per_task_marginal=%.0f\n",
        c, m, k, n, b, irn, irb, irn / n, (irn - irb) / (n - b)
}'
