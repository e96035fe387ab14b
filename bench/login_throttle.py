#!/usr/bin/env python3
"""Login throttling and login timing of `emostream up`, measured as an attacker would see them.

Starts its own `emostream up` (one node, free ports, a throwaway data dir, the default bcrypt cost) and prints:
  1. the time of a login with a wrong password, with an unknown name and with an invalid name (throttle off:
     they must take the same time, bcrypt against a decoy hash);
  2. with the default throttle: 1,000 wrong passwords for one name sent one after another and 1,000 sent 50 at a
     time (how many got 401, i.e. a password check, and how many 429 login_throttled), the right password while
     throttled, and 32 wrong logins for 32 different names from one address.
Standard library only. Usage: bench/login_throttle.py [--binary .build/debug/emostream]
"""
import argparse, concurrent.futures, json, re, subprocess, tempfile, time, urllib.error, urllib.request


def start(binary, extra):
    data_dir = tempfile.mkdtemp(prefix="emostream-bench-")
    process = subprocess.Popen(
        [binary, "up", "--port", "0", "--node-base-port", "0", "--nodes", "1", "--data-dir", data_dir] + extra,
        stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        match = re.search(r"EmoStream ready: (https?://\S+)", line)
        if match:
            return process, match.group(1)
    raise SystemExit("emostream up did not start")


def post(api, path, body):
    request = urllib.request.Request(
        api + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def tally(statuses):
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def timing(api, body, count=40):
    times = []
    for _ in range(count):
        start_time = time.perf_counter()
        status, _ = post(api, "/api/login", body)
        times.append((time.perf_counter() - start_time) * 1000)
        assert status == 401, status
    times.sort()
    return times[len(times) // 2], sum(times) / len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/debug/emostream")
    args = parser.parse_args()

    process, api = start(args.binary, ["--login-name-failures", "0", "--login-address-failures", "0"])
    try:
        post(api, "/api/register", {"name": "asha", "password": "correct horse", "tier": 1})
        for _ in range(2):
            wrong = timing(api, {"name": "asha", "password": "wrong horse"})
            unknown = timing(api, {"name": "nobody", "password": "wrong horse"})
            invalid = timing(api, {"name": "x y", "password": "wrong horse"})
            print(f"login time, median / mean ms: wrong password {wrong[0]:.1f} / {wrong[1]:.1f}, "
                  f"unknown name {unknown[0]:.1f} / {unknown[1]:.1f}, invalid name {invalid[0]:.1f} / {invalid[1]:.1f}")
    finally:
        process.terminate()
        process.wait()

    process, api = start(args.binary, [])
    try:
        post(api, "/api/register", {"name": "asha", "password": "correct horse", "tier": 1})
        began = time.perf_counter()
        statuses = [post(api, "/api/login", {"name": "asha", "password": f"guess-{i}"})[0] for i in range(1000)]
        print(f"1,000 wrong passwords one after another: {tally(statuses)} in {time.perf_counter() - began:.1f} s")
        status, headers = post(api, "/api/login", {"name": "asha", "password": "correct horse"})
        print(f"the right password while throttled: {status}, Retry-After {headers.get('Retry-After')}")

        post(api, "/api/register", {"name": "bilal", "password": "correct horse", "tier": 1})
        began = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            statuses = [s for s, _ in pool.map(
                lambda i: post(api, "/api/login", {"name": "bilal", "password": f"guess-{i}"}), range(1000))]
        print(f"1,000 wrong passwords, 50 at a time: {tally(statuses)} in {time.perf_counter() - began:.1f} s")
    finally:
        process.terminate()
        process.wait()

    process, api = start(args.binary, [])
    try:
        statuses = [post(api, "/api/login", {"name": f"name-{i}", "password": "wrong horse"})[0] for i in range(32)]
        first = statuses.index(429) + 1 if 429 in statuses else None
        print(f"32 wrong logins for 32 names from one address: {tally(statuses)}, first 429 at attempt {first}")
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
