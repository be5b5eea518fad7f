#!/usr/bin/env python3
"""What a generated app's metrics endpoint says under load.
Usage: scripts/metrics_under_load.py [seconds]

Builds a SQLite app with every feature and a Project resource (as scripts/contract.py
does), serves it with METRICS_ADDR set, and for SECONDS (default 10) sends requests
from 16 clients: liveness checks, project reads with random ids and no session (401),
`/auth/me` without a session (401), wrong passwords (401, then 429 once the address's
limit is reached) and unknown paths with random ids (404). Then prints what the load got, per status, and
the metrics endpoint's series, without the histogram buckets.
"""
import json
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contract import build_app, free_port, serve_app  # noqa: E402

CLIENTS = 16


def send(base, path, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}{path}", data=data, method=method,
        headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def client(base, number, stop, statuses):
    """One client's loop: a fixed mix of requests, each path with fresh ids."""
    mix = [
        lambda: send(base, "/health/live"),
        lambda: send(base, f"/orgs/{uuid.uuid4()}/projects/{uuid.uuid4()}"),
        lambda: send(base, "/auth/me"),
        lambda: send(base, "/auth/login", "POST",
                     {"email": f"nobody{number}@example.com", "password": "a wrong password"}),
        lambda: send(base, f"/no/such/page/{uuid.uuid4()}"),
    ]
    done = 0
    while not stop.is_set():
        statuses[mix[done % len(mix)]()] += 1
        done += 1


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    work = Path(tempfile.mkdtemp(prefix="metrics-"))
    binary = build_app(work, "sqlite")
    metrics_port = free_port()
    with serve_app(binary, work, f"sqlite://{work}/metrics.db?mode=rwc",
                   METRICS_ADDR=f"127.0.0.1:{metrics_port}") as base:
        stop = threading.Event()
        per_client = [Counter() for _ in range(CLIENTS)]
        threads = [threading.Thread(target=client, args=(base, n, stop, per_client[n]))
                   for n in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        statuses = sum(per_client, Counter())
        total = sum(statuses.values())
        print(f"{total} requests from {CLIENTS} clients in {elapsed:.1f} s "
              f"({total / elapsed:.0f}/s): {dict(sorted(statuses.items()))}")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            text = response.read().decode()
        print(f"GET /metrics: {len(text.splitlines())} lines; without the buckets:")
        for line in text.splitlines():
            if "_bucket{" not in line:
                print(line)


if __name__ == "__main__":
    main()
