#!/usr/bin/env python3
"""A flood of anonymous sign-ins against a running server, and its memory.

usage: sign_in_flood.py BASE_URL SERVER_PID [REQUESTS] [AT_ONCE]

Sends REQUESTS (2,000) sign-ins with wrong passwords for made-up logins,
AT_ONCE (64) at a time, from many loopback addresses (127.0.0.2 …), as an
attacker with many machines would. Samples the server's resident memory
every 20 ms and prints: answers by status, answer times (p50/p99), the
baseline, peak and after-flood RSS.
"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    base, pid = sys.argv[1], int(sys.argv[2])
    total = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    at_once = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    url = urllib.parse.urlparse(base)
    baseline = rss_mb(pid)
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()

    def sign_in(n):
        source = f"127.0.{(n // 250) % 250 + 1}.{n % 250 + 2}"
        body = json.dumps({"login": f"nobody{n}", "password": "wrong-password"})
        started = time.perf_counter()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60, source_address=(source, 0))
        try:
            conn.request("POST", "/api/login", body, {"content-type": "application/json"})
            status = conn.getresponse().status
        except OSError as error:
            status = f"error {error.__class__.__name__}"
        finally:
            conn.close()
        return status, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        results = list(pool.map(sign_in, range(total)))
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    time.sleep(5)
    after = rss_mb(pid)

    by_status = {}
    for status, _ in results:
        by_status[status] = by_status.get(status, 0) + 1
    times = sorted(t for _, t in results)
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"{total} sign-ins, {at_once} at once, in {wall:.1f} s: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items(), key=str)))
    print(f"answer time p50 {statistics.median(times) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"server RSS: baseline {baseline:.0f} MB, peak {peak[0]:.0f} MB, 5 s after {after:.0f} MB")


if __name__ == "__main__":
    main()
