#!/usr/bin/env python3
"""Batched ingest throughput of `emostream up`: reactions/s accepted (202) and counted into bursts.

For each binary given, starts `BINARY up` on free ports (embedded log, no per-user rate limit, a fresh data dir),
places one SSE viewer on `main`, drives `POST /api/emojis` with --batch events per request from wrk (--connections
connections for --duration), then waits until the bursts the viewer saw add up to every accepted reaction and prints
accepted/s, the counted total and lost/duplicated, and how long after its window's end each burst reached the viewer
(p50/p99). Runs every binary --runs times, interleaved, and prints the medians and the ratio of each binary to the
first (the baseline), so that both are measured in one invocation.

  bench/ingest.py --runs 3 BASELINE_BINARY NEW_BINARY

A binary may carry flags for `up` after `::`, e.g. to compare two configurations of one build on a broker (with
`--kafka` each run gets a topic prefix of its own):

  bench/ingest.py --batch 1 --connections 64 \
      '.build/release/emostream::--kafka 127.0.0.1:9092 --kafka-linger 500ms --kafka-lateness 1s' \
      '.build/release/emostream::--kafka 127.0.0.1:9092'

Needs wrk (Debian's package). Standard library only otherwise.
"""
import argparse, datetime, json, os, shlex, random, re, shutil, socket, statistics, subprocess, sys, tempfile, threading, time
from emostream_http import post
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(api, name):
    text = urllib.request.urlopen(api + "/metrics").read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


class Viewer(threading.Thread):
    """Sums the `total` of every burst of `main` one SSE viewer receives."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.total, self.seqs, self.ready = url, 0, [], threading.Event()
        self.latencies = []

    def run(self):
        with urllib.request.urlopen(self.url, timeout=120) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if not line.startswith("data: "):
                    continue
                message = json.loads(line[6:])
                if message.get("type") == "hello":
                    self.ready.set()
                if message.get("type") == "burst":
                    self.total += message["total"]
                    self.seqs.append(message["seq"])
                    end = datetime.datetime.fromisoformat(message["window_end"].replace("Z", "+00:00")).timestamp()
                    self.latencies.append((time.time() - end) * 1000)


def run_once(spec, args, workdir):
    binary, _, extra = spec.partition("::")
    extra = shlex.split(extra)
    if "--kafka" in extra:
        extra += ["--kafka-prefix", f"bench{random.randrange(10**9)}-"]
    port = free_port()
    data = tempfile.mkdtemp(dir=workdir)
    log = open(os.path.join(data, "server.log"), "w")
    server = subprocess.Popen(
        [binary, "up", "--port", str(port), "--node-base-port", "0", "--nodes", "1", "--user-rate", "0",
         "--data-dir", data, "--log-level", "warning"] + extra, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(api + "/healthz", timeout=1)
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"{binary} did not start; see {data}/server.log")
                time.sleep(0.1)
        name, password = f"bench{random.randrange(10**9)}", "ingest-benchmark"
        post(api + "/api/register", {"name": name, "password": password, "tier": 1})
        token = post(api + "/api/login", {"name": name, "password": password})["token"]
        viewer = Viewer(post(api + "/api/connect", None, token)["sse_url"])
        viewer.start()
        viewer.ready.wait(10)
        now = int(time.time() * 1000)
        events = [{"user_id": f"user-{i % 5000}", "emoji_type": "😀" if i % 5 < 3 else "😢", "timestamp": now}
                  for i in range(args.batch)]
        body = os.path.join(data, "body.json")
        with open(body, "w") as f:
            json.dump(events, f, ensure_ascii=False)
        script = os.path.join(data, "post.lua")
        with open(script, "w") as f:
            f.write('local f = io.open("%s", "rb")\nwrk.method = "POST"\nwrk.body = f:read("*all")\n'
                    'wrk.headers["Content-Type"] = "application/json"\n' % body)
        started = time.time()
        out = subprocess.run(
            ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "-s", script, api + "/api/emojis"],
            capture_output=True, text=True, check=True).stdout
        elapsed = time.time() - started
        non2xx = int(re.search(r"Non-2xx or 3xx responses: (\d+)", out).group(1)) if "Non-2xx" in out else 0
        # Requests still in the server when wrk stopped may be accepted after it did: read the counter again until
        # the bursts have caught up with it, then once more after another window.
        deadline = time.time() + 60
        accepted = metric(api, "emostream_reactions_accepted_total")
        while viewer.total != accepted and time.time() < deadline:
            time.sleep(0.2)
            accepted = metric(api, "emostream_reactions_accepted_total")
        time.sleep(2.5)  # one more window: anything counted twice would show up
        accepted = metric(api, "emostream_reactions_accepted_total")
        seqs = viewer.seqs
        latencies = sorted(viewer.latencies)
        return {
            "p50": latencies[len(latencies) // 2] if latencies else float("nan"),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan"),
            "accepted": accepted, "counted": viewer.total, "seconds": elapsed,
            "rate": accepted / args.duration,
            "non2xx": non2xx, "gapless": seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False,
        }
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+", help="emostream binaries; the first is the baseline")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--batch", type=int, default=1000, help="events per POST")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is required: apt-get install wrk")
    workdir = tempfile.mkdtemp(prefix="emostream-ingest-bench-")
    results = {binary: [] for binary in args.binaries}
    for run in range(args.runs):
        for binary in args.binaries:
            r = run_once(binary, args, workdir)
            results[binary].append(r)
            print(f"run {run + 1} {binary}: {r['rate']:,.0f} reactions/s accepted, accepted={r['accepted']:,} "
                  f"counted={r['counted']:,} lost={max(0, r['accepted'] - r['counted']):,} "
                  f"duplicated={max(0, r['counted'] - r['accepted']):,} non-2xx={r['non2xx']} seq gap-free={r['gapless']} "
                  f"window end -> viewer p50 {r['p50']:.0f} ms p99 {r['p99']:.0f} ms",
                  flush=True)
    base = statistics.median(r["rate"] for r in results[args.binaries[0]])
    print(f"\n{args.batch}-event POSTs, {args.connections} connections, {args.duration}s, median of {args.runs}:")
    for binary in args.binaries:
        median = statistics.median(r["rate"] for r in results[binary])
        exact = all(r["accepted"] == r["counted"] for r in results[binary])
        p50 = statistics.median(r["p50"] for r in results[binary])
        p99 = statistics.median(r["p99"] for r in results[binary])
        print(f"  {binary}: {median:,.0f} reactions/s ({median / base:.2f}x baseline), window end -> viewer p50 {p50:.0f} ms, "
              f"p99 {p99:.0f} ms; accepted == counted in every run: {exact}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
