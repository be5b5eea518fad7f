#!/usr/bin/env python3
"""What a flood of password requests does to one user's logins, in a generated app.
Usage: scripts/bench_auth_flood.py [logins]

Builds a SQLite app (as scripts/contract.py does), serves it with rate limits out of
the way, and times LOGINS (default 30) sequential logins of one user three times:
alone (the baseline), while 16 clients send password resets with made-up tokens
as fast as they can, and while 16 clients send wrong passwords for another
account. Prints each run's median and 95th-percentile latency, its ratio to the
baseline, and the statuses the user and the flood got.
"""
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contract import build_app, serve_app  # noqa: E402

FLOOD_CLIENTS = 16
PASSWORD = "a long enough password"


def post(base, path, body):
    """POSTs JSON; returns (status, seconds)."""
    request = urllib.request.Request(
        f"{base}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, time.perf_counter() - started


def time_logins(base, count):
    results = [post(base, "/auth/login", {"email": "alice@example.com", "password": PASSWORD})
               for _ in range(count)]
    return [seconds for _, seconds in results], Counter(status for status, _ in results)


def flood(base, path, body, stop, statuses):
    while not stop.is_set():
        status, _ = post(base, path, body)
        statuses[status] += 1


def measure(base, count, flood_path=None, flood_body=None):
    stop = threading.Event()
    flood_statuses = Counter()
    threads = [threading.Thread(target=flood, args=(base, flood_path, flood_body, stop, flood_statuses))
               for _ in range(FLOOD_CLIENTS if flood_path else 0)]
    for thread in threads:
        thread.start()
    time.sleep(1 if threads else 0)  # let the flood build up
    latencies, statuses = time_logins(base, count)
    stop.set()
    for thread in threads:
        thread.join()
    return latencies, statuses, flood_statuses


def describe(name, latencies, statuses, flood_statuses, baseline):
    median = statistics.median(latencies) * 1000
    p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000
    ratio = f"{median / baseline:.1f}x baseline" if baseline else "baseline"
    print(f"{name:<34} median {median:7.1f} ms  p95 {p95:7.1f} ms  ({ratio})  "
          f"user: {dict(statuses)}  flood: {dict(flood_statuses)}")
    return median


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    work = Path(tempfile.mkdtemp(prefix="flood-"))
    binary = build_app(work, "sqlite")
    with serve_app(binary, work, f"sqlite://{work}/flood.db?mode=rwc",
                   AUTH_IP_LIMIT_PER_MINUTE="1000000",
                   AUTH_ACCOUNT_FAILURE_LIMIT="1000000") as base:
        for email in ["alice@example.com", "bob@example.com"]:
            post(base, "/auth/signup", {"email": email, "password": PASSWORD, "name": "Bench"})
        print(f"{count} sequential logins of one user; floods from {FLOOD_CLIENTS} clients")
        baseline = describe("alone", *measure(base, count), None)
        describe("during a flood of bogus resets", *measure(
            base, count, "/auth/password/reset",
            {"token": "x" * 43, "password": "a new long password"}), baseline)
        describe("during a flood of wrong passwords", *measure(
            base, count, "/auth/login",
            {"email": "bob@example.com", "password": "not the password"}), baseline)


if __name__ == "__main__":
    main()
