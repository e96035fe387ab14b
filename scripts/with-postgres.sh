#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server.
#
#   bash scripts/with-postgres.sh swift test
#
# Installs PostgreSQL from Debian's packages if its binaries are missing, creates a cluster in a temp dir,
# starts it on a free loopback port (unix socket inside the temp dir), waits for readiness with pg_isready,
# exports EMOSTREAM_TEST_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:PORT/postgres (and EMOSTREAM_TEST_PG_BIN,
# EMOSTREAM_TEST_PG_USER for tests that run a server of their own), runs the command,
# then stops the server, removes the temp dir and exits with the command's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

log() { echo "with-postgres: $*" >&2; }

# The directory holding initdb, pg_ctl and pg_isready (Debian keeps them in /usr/lib/postgresql/<ver>/bin).
find_pg_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/pg_isready" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v pg_isready >/dev/null; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    return 1
}

PG_BIN="$(find_pg_bin || true)"
if [ -z "$PG_BIN" ]; then
    log "PostgreSQL not found; installing it from Debian's packages"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql >&2
    PG_BIN="$(find_pg_bin)" || { log "PostgreSQL binaries still missing after install"; exit 1; }
fi

# PostgreSQL refuses to run as root: run the server as the `postgres` user then.
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi
    RUN_AS=(runuser -u postgres --)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/emostream-pg.XXXXXX")"
chmod 700 "$WORK"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$WORK"; fi
DATA="$WORK/data"
SOCK="$WORK/sock"
"${RUN_AS[@]}" mkdir -p "$SOCK"

cleanup() {
    local status=$?
    if [ -n "${PG_PID:-}" ] && kill -0 "$PG_PID" 2>/dev/null; then
        "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || kill "$PG_PID" 2>/dev/null || true
        wait "$PG_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DB_USER="emostream"
DB_PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$DB_PASSWORD" | "${RUN_AS[@]}" tee "$WORK/pwfile" >/dev/null
"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$DATA" -U "$DB_USER" --pwfile="$WORK/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; exit 1; }
rm -f "$WORK/pwfile"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A free port can be taken between probing and binding; try a few.
PG_PID=""
started=""
for attempt in 1 2 3; do
    PORT="$(free_port)"
    # Throwaway data: durability off for speed; enough connections for parallel tests.
    "${RUN_AS[@]}" "$PG_BIN/postgres" -D "$DATA" \
        -c listen_addresses=127.0.0.1 -c port="$PORT" -c unix_socket_directories="$SOCK" \
        -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        >>"$WORK/postgres.log" 2>&1 &
    PG_PID=$!
    # Wait for readiness: poll pg_isready for as long as the server process is alive.
    while kill -0 "$PG_PID" 2>/dev/null; do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 1; then
            started="yes"
            break
        fi
        sleep 0.1
    done
    [ -n "$started" ] && break
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=""
    log "server did not start on port $PORT (attempt $attempt)"
done
if [ -z "$started" ]; then
    tail -n 30 "$WORK/postgres.log" >&2 || true
    exit 1
fi

export EMOSTREAM_TEST_DATABASE_URL="postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/postgres"
# For tests that run a PostgreSQL server of their own (to restart it): where its binaries are, and the user to run
# them as (empty: the current one).
export EMOSTREAM_TEST_PG_BIN="$PG_BIN"
export EMOSTREAM_TEST_PG_USER="$([ "$(id -u)" -eq 0 ] && echo postgres || true)"
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$PORT"

set +e
"$@"
status=$?
set -e
exit "$status"
