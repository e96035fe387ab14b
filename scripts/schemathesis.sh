#!/usr/bin/env bash
# Fuzzes the HTTP API of a real `emostream up` with schemathesis (PyPI), from the OpenAPI document the servers
# serve at /openapi.json: a bounded number of examples per operation, failing on any 5xx and on any response
# outside the document (status code, content type, headers, body schema). Installs schemathesis into
# .venv-schemathesis when it is missing. Needs the debug build (.build/debug/emostream; scripts/test.sh builds it),
# or EMOSTREAM_BINARY.
#   scripts/schemathesis.sh [schemathesis run args]
# EMOSTREAM_SCHEMATHESIS_EXAMPLES (default 100) sets --max-examples; EMOSTREAM_SCHEMATHESIS_SEED replays a run.
#
# Three runs, each against the document a server serves:
#   1. the gateway (its view holds the ingest operations: `up` accepts reactions) with a viewer's token, so
#      POST /api/connect gets past authentication (the operator endpoints answer that token 401);
#   2. the operator endpoints (/api/admin/overview, /api/admin/nodes/{name}/drain) with the operator token;
#   3. a cluster node. GET /ws and GET /events are fuzzed too: no generated ticket carries a valid signature, so
#      they answer 400, 401 or 426 and never upgrade or open a stream that would not end.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.venv-schemathesis
BINARY=${EMOSTREAM_BINARY:-.build/debug/emostream}
EXAMPLES=${EMOSTREAM_SCHEMATHESIS_EXAMPLES:-100}
ADMIN_PASSWORD=schemathesis-operator
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! $VENV/bin/python -c "import sys; from importlib.metadata import version; \
sys.exit(version('schemathesis') != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
    echo "==> installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    if ! python3 -m venv $VENV; then
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv \
            || { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv; }
        python3 -m venv $VENV
    fi
    $VENV/bin/pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ -x "$BINARY" ] || { echo "build first: swift build"; exit 1; }
PYTHON=$VENV/bin/python

WORK=$(mktemp -d)
SERVER=""
cleanup() {
    if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
        kill -INT "$SERVER"
        wait "$SERVER" || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# A free port for the API (the nodes take free ports of their own), then readiness by /healthz: the API answers
# and the node has registered.
PORT=$($PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
"$BINARY" up --port "$PORT" --node-base-port 0 --nodes 1 --data-dir "$WORK/data" --bcrypt-cost 4 \
    --admin-password "$ADMIN_PASSWORD" --log-level warning >"$WORK/server.log" 2>&1 &
SERVER=$!
$PYTHON - "$API" "$SERVER" <<'PY' || { tail -40 "$WORK/server.log"; exit 1; }
import json, os, sys, time, urllib.request
api, pid, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("emostream up exited")
    try:
        with urllib.request.urlopen(api + "/healthz", timeout=2) as response:
            if json.load(response).get("live_nodes", 0) >= 1:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)  # the polling interval
sys.exit("emostream up did not become ready within 60 s")
PY

post() {  # post PATH JSON: the answer's body
    curl -sf -X POST "$API$1" -H 'Content-Type: application/json' -d "$2"
}
field() { $PYTHON -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
post /api/register '{"name":"schemathesis","password":"schemathesis-password","tier":1}' >/dev/null
TOKEN=$(post /api/login '{"name":"schemathesis","password":"schemathesis-password"}' | field token)
OPERATOR=$(post /api/admin/login "{\"password\":\"$ADMIN_PASSWORD\"}" | field token)
NODE=$(curl -sf "$API/api/nodes" | $PYTHON -c 'import json, sys; print(json.load(sys.stdin)[0]["sse_url"].rsplit("/events", 1)[0])')

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
run() {  # run LABEL URL [args]: one schemathesis run
    local label=$1 url=$2
    shift 2
    echo "==> schemathesis: $label ($url)"
    SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=scripts $VENV/bin/schemathesis run "$url" --checks "$CHECKS" --max-examples "$EXAMPLES" \
        ${EMOSTREAM_SCHEMATHESIS_SEED:+--seed "$EMOSTREAM_SCHEMATHESIS_SEED"} --no-color "$@"
}
status=0
run "gateway" "$API/openapi.json" -H "Authorization: Bearer $TOKEN" --exclude-path-regex '^/api/admin/(overview|nodes/)' "$@" \
    || status=1
run "operator API" "$API/openapi.json" -H "Authorization: Bearer $OPERATOR" --include-path-regex '^/api/admin/(overview|nodes/)' "$@" \
    || status=1
run "node" "$NODE/openapi.json" "$@" || status=1
if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "emostream up died during the run"; tail -40 "$WORK/server.log"; status=1
fi
exit $status
