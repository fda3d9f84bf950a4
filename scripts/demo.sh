#!/usr/bin/env bash
# The seed example end to end: a private redis-server on a free port, the producer pushes
# {"some_parameter": "one"}, sergeant-host runs the consumer plugin, which logs the task.
# Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug
plugin=Plugins-Examples/consumer/.build/debug/libconsumer.so
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SERGEANT_REDIS="redis://127.0.0.1:$port/0"

cleanup() {
    [ -n "${host_pid:-}" ] && kill -TERM "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null || true
    [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --loglevel warning >/dev/null &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

echo "== producer: sergeant push (redis on port $port)"
"$bin/sergeant" push --worker-module="$plugin" --worker-class=Worker --kwargs '{"some_parameter": "one"}' --purge

echo "== supervisor: sergeant-host --worker-module=$plugin --worker-class=Worker --concurrent-worker=1"
"$bin/sergeant-host" --worker-module="$plugin" --worker-class=Worker --concurrent-worker=1 >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 300); do grep -q "task parameters are" "$work/host.log" && break; sleep 0.05; done
kill -TERM "$host_pid"; wait "$host_pid" || true; host_pid=""
cat "$work/host.log"
grep -q "task parameters are: {'some_parameter': 'one'}" "$work/host.log" || { echo "demo FAILED: the worker did not log the task" >&2; exit 1; }
echo "== demo OK: the worker logged the task's parameters"
