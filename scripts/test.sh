#!/usr/bin/env bash
# The full test suite, as a newcomer or CI runs it from a fresh clone:
#   scripts/test.sh
# Installs what the tests need when it is missing (PostgreSQL from Debian's packages), builds, and runs
# every test target.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

command -v swift >/dev/null || { echo "Swift is required (https://swift.org/install)"; exit 1; }

log "building (debug) with tests"
swift build --build-tests

log "running the tests (against a throwaway PostgreSQL server for the store tests)"
# Swift Testing only: the package has no XCTest cases.
bash scripts/with-postgres.sh swift test --skip-build --disable-xctest "$@"
