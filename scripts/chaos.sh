#!/usr/bin/env bash
# make chaos: the fault-injection suite. Builds sergeant, sergeant-host, sergeant-worker,
# sergeant-chaos and the chaos fixture plugin (debug, like the tests), then runs sergeant-chaos with any arguments
# given (make chaos CHAOS_ARGS="--seed 42 --tasks 5000"). CHAOS_SCRATCH_PATH picks another
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
exec "$scratch/debug/sergeant-chaos" --bin "$PWD/$scratch/debug" \
    --plugin "$PWD/Tests/Fixtures/chaos/.build/debug/libchaos.so" "$@"
