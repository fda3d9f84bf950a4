#!/usr/bin/env bash
# Runs one example plugin end to end against a private redis-server on a free port:
#   scripts/example.sh PLUGIN CLASS WORKERS UNTIL KWARGS...
# pushes each KWARGS JSON object to CLASS's queue, runs sergeant-host with WORKERS workers
# until a log line contains UNTIL (or the supervisor exits by itself), stops it and prints
# its log. Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin_name=$1 class=$2 workers=$3 until=$4
shift 4
bin=.build/debug
plugin=Plugins-Examples/$plugin_name/.build/debug/lib$plugin_name.so
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SERGEANT_REDIS="redis://127.0.0.1:$port/0"

cleanup() {
    [ -n "${host_pid:-}" ] && kill -TERM "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null || true
    [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --dir "$work" --loglevel warning >/dev/null &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

kwargs=()
for k in "$@"; do kwargs+=(--kwargs "$k"); done
echo "\$ sergeant push --worker-module=$plugin --worker-class=$class ${kwargs[*]} --purge"
"$bin/sergeant" push --worker-module="$plugin" --worker-class="$class" "${kwargs[@]}" --purge

# The seed spells the flag --concurrent-worker; both spellings work (WORKERS_FLAG picks one).
flag=${WORKERS_FLAG:---concurrent-workers}
echo "\$ sergeant-host --worker-module=$plugin --worker-class=$class $flag=$workers"
"$bin/sergeant-host" --worker-module="$plugin" --worker-class="$class" "$flag=$workers" >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 1200); do
    grep -q -- "$until" "$work/host.log" && break
    kill -0 "$host_pid" 2>/dev/null || break
    sleep 0.05
done
kill -TERM "$host_pid" 2>/dev/null || true
wait "$host_pid" || true
host_pid=""
cat "$work/host.log"
grep -q -- "$until" "$work/host.log"
