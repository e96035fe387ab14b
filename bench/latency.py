#!/usr/bin/env python3
"""Window-end → viewer latency of a running EmoStream.

Opens one SSE viewer on every node listed by GET /api/nodes, records for each burst the time from the burst's
window_end to its arrival at the viewer, and prints p50/p90/p99/max after --windows bursts per viewer.
Something must be sending reactions meanwhile (e.g. `emostream loadgen`). Standard library only.
"""
import argparse, datetime, json, statistics, threading, time, urllib.request


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
    samples, lock = [], threading.Lock()
    threads = [threading.Thread(target=viewer, args=(n["sse_url"], args.windows, samples, lock)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    print(f"viewers={len(nodes)} bursts={len(samples)} window_end→receipt ms: "
          f"p50={pick(0.50):.1f} p90={pick(0.90):.1f} p99={pick(0.99):.1f} max={samples[-1]:.1f} "
          f"mean={statistics.mean(samples):.1f}")


if __name__ == "__main__":
    main()
