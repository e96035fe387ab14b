#!/usr/bin/env python3
"""Window-end → viewer latency of a running EmoStream.

Registers a tier-1 viewer, places one SSE viewer on every node (POST /api/connect spreads them by load), records for each burst the time from the burst's
window_end to its arrival at the viewer, and prints p50/p90/p99/max after --windows bursts per viewer.
Something must be sending reactions meanwhile (e.g. `emostream loadgen`). Standard library only.
"""
import argparse, datetime, json, statistics, threading, time, urllib.request
from emostream_http import post


def parse_ms(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def viewer(url, windows, samples, lock):
    with urllib.request.urlopen(url, timeout=60) as stream:
        got = 0
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if not line.startswith("data: "):
                continue
            message = json.loads(line[6:])
            if message.get("type") != "burst":
                continue
            latency = time.time() * 1000 - parse_ms(message["window_end"])
            with lock:
                samples.append(latency)
            got += 1
            if got >= windows:
                return


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--windows", type=int, default=100)
    args = parser.parse_args()
    nodes = json.load(urllib.request.urlopen(args.url + "/api/nodes"))
    name, password = f"latency{int(time.time())}", "latency-benchmark"
    post(args.url + "/api/register", {"name": name, "password": password, "tier": 1})
    token = post(args.url + "/api/login", {"name": name, "password": password})["token"]
    urls = [post(args.url + "/api/connect", None, token)["sse_url"] for _ in nodes[:5]]
    samples, lock = [], threading.Lock()
    threads = [threading.Thread(target=viewer, args=(url, args.windows, samples, lock)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    print(f"viewers={len(urls)} bursts={len(samples)} window_end→receipt ms: "
          f"p50={pick(0.50):.1f} p90={pick(0.90):.1f} p99={pick(0.99):.1f} max={samples[-1]:.1f} "
          f"mean={statistics.mean(samples):.1f}")


if __name__ == "__main__":
    main()
