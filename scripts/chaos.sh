#!/usr/bin/env bash
# make chaos: the fault-injection suite. Builds sergeant, sergeant-host, sergeant-worker,
# sergeant-chaos and the chaos fixture plugin (debug, like the tests), then runs sergeant-chaos twice with any
# arguments given (make chaos CHAOS_ARGS="--seed 42 --tasks 5000"): with the serial executor, then with the async
# executor, 50 tasks in flight per worker (CHAOS_ASYNC_ARGS, default "--async 50"). Fails when either run fails. CHAOS_SCRATCH_PATH picks another
# build directory than .build.
set -euo pipefail
cd "$(dirname "$0")/.."
swift="${SWIFT:-swift}"
scratch="${CHAOS_SCRATCH_PATH:-.build}"
for product in sergeant sergeant-host sergeant-worker sergeant-chaos; do
    "$swift" build --scratch-path "$scratch" --product "$product"
done
# The plugin's one source file is always recompiled: an incremental build has been seen to
# relink it against a changed SergeantCore without recompiling it (undefined symbol at dlopen).
touch Tests/Fixtures/chaos/Sources/Chaos/ChaosWorker.swift
"$swift" build --disable-build-manifest-caching --package-path Tests/Fixtures/chaos
status=0
"$scratch/debug/sergeant-chaos" --bin "$PWD/$scratch/debug" \
    --plugin "$PWD/Tests/Fixtures/chaos/.build/debug/libchaos.so" "$@" || status=$?
echo "== the async executor (${CHAOS_ASYNC_ARGS:---async 50}): SIGKILLs land with many tasks in flight per worker"
# shellcheck disable=SC2086
"$scratch/debug/sergeant-chaos" --bin "$PWD/$scratch/debug" \
    --plugin "$PWD/Tests/Fixtures/chaos/.build/debug/libchaos.so" ${CHAOS_ASYNC_ARGS:---async 50} "$@" || status=$?
exit "$status"
