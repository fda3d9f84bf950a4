#!/usr/bin/env bash
# The seed example end to end: the producer pushes {"some_parameter": "one"} and
# sergeant-host runs the consumer plugin, which logs the task (scripts/example.sh does the
# private redis-server and the clean-up).
set -euo pipefail
cd "$(dirname "$0")/.."
if WORKERS_FLAG=--concurrent-worker scripts/example.sh consumer Worker 1 "task parameters are: {'some_parameter': 'one'}" '{"some_parameter": "one"}'; then
    echo "== demo OK: the worker logged the task's parameters"
else
    echo "== demo FAILED: the worker did not log the task; see the log above" >&2
    exit 1
fi
