#!/usr/bin/env bash
# Fuzzes the decoders of bytes EmoStream does not control, for a bounded time:
#   scripts/fuzz.sh [SECONDS]        SECONDS per target, default 30
# Builds the fuzz targets of Fuzz/ with libFuzzer and AddressSanitizer into .build-fuzz, then runs each on a copy
# of its corpus (Fuzz/Corpus/<target>, which the run never changes): FuzzIngest (POST /api/emojis bodies),
# FuzzRecords (the pipeline's record codecs) and FuzzKafka (KafkaWire's response and record batch decoders).
# Fails when a target crashes, traps, fails a round-trip check, runs out of time on one input or allocates too
# much; the input that did it is kept in artifacts/fuzz/<target>/ and replays in a normal build with
#   swift run <target> artifacts/fuzz/<target>/<file>
# Set EMOSTREAM_FUZZ_TARGETS="FuzzKafka …" to run some of the targets only.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
read -r -a targets <<<"${EMOSTREAM_FUZZ_TARGETS:-FuzzIngest FuzzRecords FuzzKafka}"
flags=(-c debug --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -D -Xswiftc FUZZING)

log() { printf '\n==> %s\n' "$*"; }

log "building the fuzz targets (libFuzzer + AddressSanitizer) into .build-fuzz"
start=$SECONDS
for target in "${targets[@]}"; do
    # (ld.gold warns about every AddressSanitizer helper symbol it cannot export; nothing to act on.)
    swift build "${flags[@]}" --product "$target" 2>&1 | grep -v "Cannot export local symbol '__asan"
done
bin=$(swift build "${flags[@]}" --show-bin-path)
echo "built in $((SECONDS - start)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    log "fuzzing $target for $seconds s"
    mkdir -p "$work/$target/corpus" "$work/$target/found"
    cp Fuzz/Corpus/"$target"/* "$work/$target/corpus/"
    # libFuzzer reports a crash itself; Swift's backtracer would only delay it (and keep the output pipe open).
    if SWIFT_BACKTRACE=enable=no "$bin/$target" "$work/$target/corpus" \
        -max_total_time="$seconds" -max_len=8192 -timeout=5 -rss_limit_mb=1024 -malloc_limit_mb=256 \
        -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$work/$target/found/" \
        >"$work/$target/log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/$target/log" || tail -n 3 "$work/$target/log"
    else
        tail -n 40 "$work/$target/log"
        mkdir -p artifacts/fuzz/"$target"
        cp "$work/$target/found/"* artifacts/fuzz/"$target"/ 2>/dev/null || true
        cp "$work/$target/log" artifacts/fuzz/"$target"/fuzz.log
        echo "FAILED: $target; its input and log are in artifacts/fuzz/$target/:"
        ls artifacts/fuzz/"$target"
        echo "replay it with: swift run $target artifacts/fuzz/$target/<file>"
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]}"
    exit 1
fi
echo "fuzzing passed: ${targets[*]} (${seconds} s each)"
