#!/usr/bin/env python3
"""Placement throughput: admitted POST /api/connect per second, SQLite store vs PostgreSQL store.

Starts `emostream up` twice on free ports in the same invocation — once on the embedded SQLite store, once on
the PostgreSQL server named by EMOSTREAM_TEST_DATABASE_URL (run it under scripts/with-postgres.sh) — registers
--users tier-1 users, logs them in, then fires --users × 5 connects from --threads concurrent clients and
prints connects/s for both and their ratio. Standard library only.

    bash scripts/with-postgres.sh python3 bench/connects.py --binary .build/release/emostream
    bash scripts/with-postgres.sh python3 bench/connects.py --binary NEW --baseline OLD --runs 3 --stores postgres
"""
import argparse, concurrent.futures, http.client, json, os, re, subprocess, tempfile, threading, time, urllib.parse


def start(binary, extra):
    data = tempfile.mkdtemp(prefix="emostream-bench-")
    args = [binary, "up", "--port", "0", "--node-base-port", "0", "--data-dir", data, "--bcrypt-cost", "4",
            "--node-capacity", "100000", "--log-level", "warning"] + extra
    # `EmoStream ready` is logged at info level: keep info for that line only by parsing stderr.
    args[args.index("--log-level") + 1] = "info"
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:
        m = re.search(r"EmoStream ready: (http://\S+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, m.group(1)
    raise SystemExit("emostream up did not start: " + " ".join(args))


def call(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def run(url, users, threads, label):
    host = urllib.parse.urlparse(url)
    local = threading.local()

    def conn():
        if not hasattr(local, "c"):
            local.c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        return local.c

    def account(i):
        name = f"bench{label}{i}"
        call(conn(), "POST", "/api/register", {"name": name, "password": "benchmark-pass", "tier": 1})
        return call(conn(), "POST", "/api/login", {"name": name, "password": "benchmark-pass"})[1]["token"]

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        tokens = list(pool.map(account, range(users)))
        jobs = [t for t in tokens for _ in range(5)]
        start = time.perf_counter()
        statuses = list(pool.map(lambda t: call(conn(), "POST", "/api/connect", token=t)[0], jobs))
        elapsed = time.perf_counter() - start
    admitted = statuses.count(200)
    return admitted, len(jobs), elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/emostream")
    parser.add_argument("--baseline", help="another emostream binary (e.g. a build of the previous commit) to run "
                        "beside --binary, alternating, in the same invocation; prints new/baseline ratios")
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1, help="runs of each (binary, store); medians are printed")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    database = os.environ.get("EMOSTREAM_TEST_DATABASE_URL")
    stores = args.stores.split(",")
    if "postgres" in stores and not database:
        raise SystemExit("run under scripts/with-postgres.sh (EMOSTREAM_TEST_DATABASE_URL is not set)")
    binaries = [("new", args.binary)] + ([("baseline", args.baseline)] if args.baseline else [])
    results = {}
    for run_index in range(args.runs):
        for label in stores:
            extra = ["--database-url", database] if label == "postgres" else []
            for name, binary in binaries:
                proc, url = start(binary, extra)
                try:
                    admitted, total, elapsed = run(url, args.users, args.threads, f"{label}{run_index}")
                finally:
                    proc.terminate()
                    proc.wait()
                rate = admitted / elapsed
                results.setdefault((name, label), []).append(rate)
                print(f"run {run_index + 1} {name:8s} {label:9s} admitted {admitted}/{total} connects in "
                      f"{elapsed:.2f}s = {rate:.0f} connects/s ({args.threads} concurrent clients)", flush=True)
    median = lambda values: sorted(values)[len(values) // 2]
    for label in stores:
        line = f"median {label:9s} new {median(results[('new', label)]):.0f} connects/s"
        if args.baseline:
            base = median(results[("baseline", label)])
            line += f", baseline {base:.0f} connects/s, ratio {median(results[('new', label)]) / base:.2f}"
        print(line)
    if "sqlite" in stores and "postgres" in stores:
        print(f"ratio postgres/sqlite (new) = "
              f"{median(results[('new', 'postgres')]) / median(results[('new', 'sqlite')]):.2f}")


if __name__ == "__main__":
    main()
