#!/usr/bin/env bash
# Regenerates docs/reliability.md: runs the fault and abuse tests (a throwaway PostgreSQL and Kafka-protocol broker,
# as scripts/test.sh does) with EMOSTREAM_RELIABILITY_ROWS set, so that each writes the row of its scenario with
# what it measured, then writes the table.
#   bash scripts/reliability.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
swift build --build-tests
# The suites that measure the machine's pace run alone, after the fleets (as in scripts/test.sh).
for suites in 'KafkaFaultTests|KafkaFleetTests|FleetTests' 'ListenerLimitsTests|MemoryBoundsTests'; do
    EMOSTREAM_RELIABILITY_ROWS="$rows" bash scripts/with-postgres.sh bash scripts/with-kafka.sh \
        swift test --skip-build --disable-xctest --filter "$suites"
done
EMOSTREAM_RELIABILITY_ROWS="$rows" bash scripts/with-postgres.sh python3 bench/storm.py --binary .build/debug/emostream \
    --viewers 2000 --check
{
    echo "# Reliability: faults and abuse, as measured"
    echo
    echo "Written by \`bash scripts/reliability.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, debug build): each row is what a"
    echo "test of \`Tests/IntegrationTests\` measured while asserting it (accepted == counted exactly, seq gap-free and"
    echo "identical on every node, JSON errors). The same tests run in the README's test command; there they only assert."
    echo
    echo "| part | scenario | result |"
    echo "|---|---|---|"
    sort "$rows"
    echo
    echo "Not met yet (see the Hardening issue): 10,000 viewers of a dead node placed again within 10 s (a release build"
    echo "takes 25.6-30.5 s on this machine, CPU bound; see bench/storm.py in the README); a publisher restarted within one"
    echo "window (with \`--instance-id\` it skips the dead member's session, but the test broker holds every static JoinGroup"
    echo "and SyncGroup 3 s)."
    echo 'Fuzzing (`scripts/fuzz.sh`) and the OpenAPI document (`scripts/schemathesis.sh`) run in the test command.'
} > docs/reliability.md
echo "wrote docs/reliability.md ($(wc -l < "$rows") rows)"
