#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets (scripts/build-fuzz.sh) and runs each, one at a time,
# for FUZZ_SECONDS (default 60) with one job, at the lowest priority (the machine is shared).
#   FUZZ_SECONDS=600 scripts/fuzz.sh          every target, ten minutes each
#   FUZZ_RUNS=2000 scripts/fuzz.sh json       a bounded smoke run of one target
# Seeds come from Fuzz/corpus/TARGET (read, never written); what a run finds to keep is kept in
# .build/fuzz/corpus/TARGET for the next run; crashes, leaks and timeouts are written to
# Fuzz/artifacts/TARGET/ (ignored by git). Prints runs, cov: and ft: per target; fails if any
# target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RUNS=${FUZZ_RUNS:-}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(msgpack task json decompress redis-reply dead-letter)

scripts/build-fuzz.sh "${targets[@]}" || exit 1

bound=(-max_total_time="$FUZZ_SECONDS")
[ -z "$FUZZ_RUNS" ] || bound=(-runs="$FUZZ_RUNS")
failed=0
summary=()
for target in "${targets[@]}"; do
    root=$PWD
    corpus=$root/.build/fuzz/corpus/$target
    artifacts=$root/Fuzz/artifacts/$target
    run=$root/.build/fuzz/run-$target
    rm -rf "$run"
    mkdir -p "$corpus" "$artifacts" "$run"
    echo "fuzz: $target (${bound[*]})"
    # One job, one worker: libFuzzer then writes the run's output to fuzz-0.log in the current
    # directory, here $run. -rss_limit_mb: a decompression bomb past the size limit is an OOM.
    # SWIFT_BACKTRACE: Swift's crash handler reads memory that ASan then reports as a second error.
    (cd "$run" && SWIFT_BACKTRACE=enable=no nice -n 19 "$root/.build/fuzz/fuzz-$target" "${bound[@]}" -jobs=1 -workers=1 \
        -timeout=20 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$corpus" "$root/Fuzz/corpus/$target" >"$run/parent.log" 2>&1)
    status=$?
    log=$run/fuzz-0.log
    [ -f "$log" ] || log=$run/parent.log
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    if [ $status -ne 0 ]; then
        failed=1
        echo "fuzz: $target FAILED (exit $status); see $log and $artifacts/" >&2
        grep -E 'ERROR|Fatal error|SUMMARY|Test unit written' "$log" | head -5 >&2
    fi
    summary+=("$(printf '%-12s runs %-10s cov %-6s ft %-6s %s' "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" \
        "$([ $status -eq 0 ] && echo ok || echo CRASH)")")
done
printf '%s\n' "${summary[@]}"
exit $failed
