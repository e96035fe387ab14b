#!/usr/bin/env python3
"""Reconnect storm: N SSE viewers on one node, that node killed (-9), every viewer placed again.

Starts a gateway and node `node-a` on the PostgreSQL server named by EMOSTREAM_TEST_DATABASE_URL (run it under
scripts/with-postgres.sh; a fresh database per run), registers N/5 tier-1 users (5 devices each), places all N
viewers (POST /api/connect, then the SSE stream until its hello), starts `node-b`, kills `node-a` with SIGKILL and
times how long until every viewer has been placed again and holds a stream on `node-b` (each reconnects on its own
as soon as its stream ends: POST /api/connect naming its lost ticket in `replaces`, retrying a refusal after its
Retry-After, then the SSE stream).
Prints the storm's duration, connects/s, the answers by status, and checks that nobody was refused for a tier
limit and that no node holds more viewers than its capacity. Standard library only (asyncio).

    bash scripts/with-postgres.sh python3 bench/storm.py --binary .build/release/emostream --viewers 10000
"""
import argparse, asyncio, collections, json, os, re, resource, signal, subprocess, tempfile, time, urllib.parse, uuid

SECRET = "storm-benchmark-secret-0123456789"


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def start(binary, args, env, ready):
    proc = await asyncio.create_subprocess_exec(binary, *args, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    while True:
        line = await proc.stderr.readline()
        if not line:
            raise SystemExit(f"{' '.join(args)} exited before it was ready")
        m = re.search(ready + r": (https?://\S+)", line.decode(errors="replace"))
        if m:
            async def drain():
                while line := await proc.stderr.readline():
                    if os.environ.get("STORM_DEBUG") and b"unreachable" in line:
                        print(line.decode(errors="replace").rstrip(), flush=True)
            asyncio.ensure_future(drain())
            return proc, m.group(1)


class API:
    """A pool of keep-alive HTTP/1.1 connections to the gateway."""

    def __init__(self, url, size):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.size = u.hostname, u.port, size
        self.pool = asyncio.Queue()
        for _ in range(size):
            self.pool.put_nowait(None)

    async def request(self, method, path, body=None, token=None):
        conn = await self.pool.get()
        try:
            for attempt in range(2):
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                reader, writer = conn
                data = json.dumps(body).encode() if body is not None else b""
                head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(data)}\r\n"
                if body is not None:
                    head += "Content-Type: application/json\r\n"
                if token:
                    head += f"Authorization: Bearer {token}\r\n"
                writer.write(head.encode() + b"\r\n" + data)
                try:
                    status_line = await reader.readline()
                    if not status_line:
                        raise ConnectionResetError
                    status = int(status_line.split()[1])
                    headers = {}
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        k, _, v = line.decode().partition(":")
                        headers[k.strip().lower()] = v.strip()
                    payload = await reader.readexactly(int(headers.get("content-length", "0")))
                    if headers.get("connection", "").lower() == "close":
                        writer.close()
                        conn = None
                    return status, headers, json.loads(payload or b"{}")
                except (ConnectionResetError, asyncio.IncompleteReadError, BrokenPipeError):
                    writer.close()
                    conn = None
                    if attempt == 1:
                        raise
        finally:
            self.pool.put_nowait(conn)


class Viewer:
    def __init__(self, token):
        self.token = token
        self.node = None
        self.placed_at = None
        self.ticket = None


async def watch(api, viewer, stats, first_placed):
    """Places the viewer and holds its stream; when the stream ends, places it again."""
    while True:
        while True:
            # Naming the lost stream's ticket lets the gateway check its node at once (see README, "replaces").
            status, headers, body = await api.request(
                "POST", "/api/connect", {"replaces": viewer.ticket} if viewer.ticket else None, token=viewer.token)
            stats[status] += 1
            if status == 200:
                break
            if status == 429:
                stats["tier_limit"] += 1
            await asyncio.sleep(float(headers.get("retry-after", "1")))
        viewer.ticket = body["ticket"]
        u = urllib.parse.urlparse(body["sse_url"])
        try:
            reader, writer = await asyncio.open_connection(u.hostname, u.port)
            writer.write(f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.hostname}\r\nAccept: text/event-stream\r\n\r\n".encode())
            status_line = await reader.readline()
            if b" 200 " not in status_line:
                stats[f"sse {status_line.decode().strip()}"] += 1
                writer.close()
                await asyncio.sleep(0.2)
                continue
            while (line := await reader.readline()) and not line.startswith(b"data:"):
                pass
            if not line:
                raise ConnectionResetError
            viewer.node, viewer.placed_at = body["node"], time.monotonic()
            first_placed.set_result(None) if not first_placed.done() else None
            while await reader.read(65536):
                pass
        except (ConnectionResetError, ConnectionRefusedError, asyncio.IncompleteReadError, OSError) as error:
            stats[f"stream on {viewer.node or body['node']} ended: {type(error).__name__}"] += 1
        else:
            stats[f"stream on {viewer.node} ended"] += 1
        viewer.node = None


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/emostream")
    parser.add_argument("--viewers", type=int, default=10000)
    parser.add_argument("--pool", type=int, default=64, help="keep-alive connections to the gateway")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a viewer was refused for its tier or a node went over capacity (the test command)")
    args = parser.parse_args()
    database = os.environ.get("EMOSTREAM_TEST_DATABASE_URL")
    if not database:
        raise SystemExit("run under scripts/with-postgres.sh (EMOSTREAM_TEST_DATABASE_URL is not set)")
    limit = raise_fd_limit()
    if args.viewers + args.pool + 100 > limit:
        raise SystemExit(f"{args.viewers} viewers need more than this process's {limit} open files")
    # A fresh database of its own.
    name = "storm_" + uuid.uuid4().hex
    admin = urllib.parse.urlparse(database)
    subprocess.run(["psql", database, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = admin._replace(path="/" + name).geturl()
    env = dict(os.environ, EMOSTREAM_DATABASE_URL=url, EMOSTREAM_SECRET=SECRET, EMOSTREAM_BCRYPT_COST="4",
               EMOSTREAM_LOG_LEVEL="info")
    data = tempfile.mkdtemp(prefix="emostream-storm-")
    procs = []
    try:
        capacity = str(args.viewers + 100)
        gateway, gateway_url = await start(args.binary, ["gateway", "--port", "0", "--data-dir", data, "--node-ttl", "30s",
                                            "--login-address-failures", "0"],
                                           env, "EmoStream gateway ready")
        procs.append(gateway)
        node_a, _ = await start(args.binary, ["node", "--name", "node-a", "--port", "0", "--capacity", capacity,
                                              "--data-dir", data, "--node-ttl", "30s"], env, "EmoStream node ready")
        procs.append(node_a)
        api = API(gateway_url, args.pool)
        users = (args.viewers + 4) // 5

        async def account(i):
            creds = {"name": f"storm{i}", "password": "storm-password"}
            status, _, body = await api.request("POST", "/api/register", dict(creds, tier=1))
            assert status in (200, 201), body
            status, _, body = await api.request("POST", "/api/login", creds)
            assert status == 200, body
            return body["token"]

        tokens = await asyncio.gather(*(account(i) for i in range(users)))
        viewers = [Viewer(tokens[i // 5]) for i in range(args.viewers)]
        stats = collections.Counter()
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        tasks = [asyncio.ensure_future(watch(api, v, stats, loop.create_future())) for v in viewers]
        while sum(v.node == "node-a" for v in viewers) < len(viewers):
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"only {sum(v.node is not None for v in viewers)} viewers placed")
            await asyncio.sleep(0.1)
        first = time.monotonic() - started
        print(f"placed {len(viewers)} viewers on node-a in {first:.2f}s = {len(viewers) / first:.0f} viewers/s "
              f"(connect + SSE hello)", flush=True)
        node_b, _ = await start(args.binary, ["node", "--name", "node-b", "--port", "0", "--capacity", capacity,
                                              "--data-dir", data, "--node-ttl", "30s"], env, "EmoStream node ready")
        procs.append(node_b)
        stats.clear()
        node_a.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while sum(v.node == "node-b" for v in viewers) < len(viewers):
            if time.monotonic() - killed > args.timeout:
                raise SystemExit(f"after {args.timeout}s only {sum(v.node == 'node-b' for v in viewers)} placed again")
            await asyncio.sleep(0.05)
        storm = max(v.placed_at for v in viewers) - killed
        status, _, nodes = await api.request("GET", "/api/nodes")
        print(f"storm: all {len(viewers)} viewers placed again on node-b {storm:.2f}s after the kill = "
              f"{len(viewers) / storm:.0f} viewers/s; answers {dict(stats)}")
        print(f"nodes: {json.dumps(nodes)}")
        over = [n for n in (nodes if isinstance(nodes, list) else nodes.get("nodes", []))
                if n.get("viewers", 0) > n.get("capacity", 1 << 30)]
        print(f"tier-limit refusals: {stats['tier_limit']}; nodes over capacity: {len(over)}")
        for t in tasks:
            t.cancel()
        rows = os.environ.get("EMOSTREAM_RELIABILITY_ROWS")
        if rows:
            with open(rows, "a") as f:
                f.write(f"| node | reconnect storm: kill -9 of a node holding {len(viewers):,} SSE viewers "
                        f"({users:,} tier-1 users × 5), each reconnecting at once with `replaces` (bench/storm.py, PostgreSQL) "
                        f"| all {len(viewers):,} placed again on the other node and streaming {storm:.2f} s after the kill "
                        f"({len(viewers) / storm:.0f}/s, {os.path.basename(args.binary.rstrip('/'))} from "
                        f"{os.path.basename(os.path.dirname(os.path.abspath(args.binary)))}); "
                        f"{stats['tier_limit']} tier-limit refusals, {len(over)} nodes over capacity |\n")
        if args.check and (stats["tier_limit"] or over):
            raise SystemExit("FAILED: a viewer of the dead node was refused for its tier, or a node went over capacity")
    finally:
        for p in procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                await asyncio.wait_for(p.wait(), 10)
            except asyncio.TimeoutError:
                p.kill()
        subprocess.run(["psql", database, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


if __name__ == "__main__":
    asyncio.run(main())
