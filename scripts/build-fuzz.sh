#!/usr/bin/env bash
# Builds the libFuzzer targets under Fuzz/ (one file each) into .build/fuzz/:
# the modules they test are compiled from their sources with swiftc, instrumented for
# libFuzzer and AddressSanitizer (-sanitize=fuzzer,address), one object file per module.
#   scripts/build-fuzz.sh            every target
#   scripts/build-fuzz.sh msgpack    only Fuzz/msgpack.swift (the modules it needs are built too)
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFTC=${SWIFTC:-swiftc}
OUT=.build/fuzz
MODULES=$OUT/modules
mkdir -p "$MODULES"

# swift-log comes from SwiftPM's checkout (swift build resolves it).
LOGGING=.build/checkouts/swift-log/Sources/Logging
if [ ! -d "$LOGGING" ]; then
    swift package resolve >/dev/null
fi

FLAGS=(-O -sanitize=fuzzer,address -parse-as-library -package-name sergeant -swift-version 6
       -I "$MODULES" -I Sources/CCompression -I Sources/CHiredis -I Sources/CSQLite -I Sources/COpenSSL)

# module NAME SOURCE_DIR DEPENDENCY_OBJECTS...: one object file and a .swiftmodule, rebuilt when
# a source, a module it imports or this script is newer.
module() {
    local name=$1 dir=$2
    shift 2
    local object=$MODULES/$name.o
    local fresh=1 dependency
    [ -f "$object" ] && [ "$object" -nt "$0" ] || fresh=0
    [ $fresh -eq 0 ] || [ -z "$(find "$dir" -name '*.swift' -newer "$object" -print -quit)" ] || fresh=0
    for dependency in "$@"; do [ "$dependency" -nt "$object" ] && fresh=0; done
    [ $fresh -eq 0 ] || return 0
    echo "fuzz: compiling module $name"
    local start
    start=$(date +%s)
    # shellcheck disable=SC2046
    "$SWIFTC" "${FLAGS[@]}" -wmo -module-name "$name" -emit-module -emit-module-path "$MODULES/$name.swiftmodule" \
        -c $(find "$dir" -name '*.swift' | sort) -o "$object"
    # Dated when the compile began: a source edited or added while it ran is newer, so rebuilt.
    touch -d "@$((start - 1))" "$object"
}

# The modules each target links, in dependency order.
declare -A NEEDS=(
    [msgpack]="Logging SergeantCore"
    [task]="Logging SergeantCore"
    [json]="Logging SergeantCore"
    [decompress]="Logging SergeantCore SergeantCompression"
    [redis-reply]="Logging SergeantCore SergeantCompression SergeantBroker"
    [dead-letter]="Logging SergeantCore SergeantCompression SergeantBroker"
)
declare -A DIRS=(
    [Logging]=$LOGGING
    [SergeantCore]=Sources/SergeantCore
    [SergeantCompression]=Sources/SergeantCompression
    [SergeantBroker]=Sources/SergeantBroker
)

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(msgpack task json decompress redis-reply dead-letter)
for target in "${targets[@]}"; do
    [ -n "${NEEDS[$target]:-}" ] || { echo "fuzz: no target $target (Fuzz/$target.swift)" >&2; exit 2; }
    objects=()
    for name in ${NEEDS[$target]}; do
        module "$name" "${DIRS[$name]}" "${objects[@]}"
        objects+=("$MODULES/$name.o")
    done
    binary=$OUT/fuzz-$target
    if [ -f "$binary" ] && [ "$binary" -nt "Fuzz/$target.swift" ] \
        && [ -z "$(find "${objects[@]}" -newer "$binary" -print -quit)" ]; then
        continue
    fi
    echo "fuzz: linking $binary"
    "$SWIFTC" "${FLAGS[@]}" -module-name "Fuzz_${target//-/_}" "Fuzz/$target.swift" "${objects[@]}" \
        -use-ld=lld -lz -lbz2 -llzma -lhiredis -lsqlite3 -lssl -lcrypto -o "$binary"
done
