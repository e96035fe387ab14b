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
# The reconnect storm at full size needs a release build (the test command runs 2,000 viewers on the debug one).
swift build -c release --product emostream
EMOSTREAM_RELIABILITY_ROWS="$rows" bash scripts/with-postgres.sh python3 bench/storm.py --binary .build/release/emostream \
    --viewers 10000 --check
{
    echo "# Reliability: faults and abuse, as measured"
    echo
    echo "Written by \`bash scripts/reliability.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, debug build; the storm on a release build): each row is what a"
    echo "test of \`Tests/IntegrationTests\` measured while asserting it (accepted == counted exactly, seq gap-free and"
    echo "identical on every node, JSON errors). The same tests run in the README's test command; there they only assert."
    echo
    echo "| part | scenario | result |"
    echo "|---|---|---|"
    sort "$rows"
    echo
    echo "On the test broker (Tansu 0.6.0) a static member (\`--instance-id\`) waits 3 s in each JoinGroup and SyncGroup (a"
    echo "constant in its group coordinator), and a dynamic member's JoinGroup waits half the session; the rows with 2 s sessions"
    echo "(\`--kafka-session-timeout 2s\`, which Apache Kafka refuses below its 6 s minimum unless configured) show what that buys."
    echo 'Fuzzing (`scripts/fuzz.sh`) and the OpenAPI document (`scripts/schemathesis.sh`) run in the test command.'
} > docs/reliability.md
echo "wrote docs/reliability.md ($(wc -l < "$rows") rows)"
