#!/usr/bin/env python3
"""Where a request's time goes: perf over the benchmarked app or the floor under load.

Usage: python3 bench/profile.py [--floor] [--database sqlite|postgres] [--route list|get]
                                [--seconds N] [--rounds N] [--no-perf]

Needs the release builds that `python3 bench/run.py --only runtime` leaves in
bench/work/, and perf (Debian's linux-perf). Seeds a fresh database as the benchmark
does, records the server with DWARF call graphs while wrk loads one route, then prints
the symbols by inclusive share of samples (`perf report --children`), and each
server's CPU time per request, read from /proc, which is steadier than requests/s on
a shared machine. perf slows the server: compare shares, not the rates it prints.
"""
import argparse
import importlib.util
import os
import subprocess
import time
from pathlib import Path

spec = importlib.util.spec_from_file_location("bench", Path(__file__).with_name("run.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def cpu_seconds(server):
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="store_true", help="profile the floor, not the app")
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--route", default="list", choices=["list", "get"])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure CPU per request this many times, alternating")
    parser.add_argument("--no-perf", action="store_true", help="only the CPU per request")
    args = parser.parse_args()
    bench.ensure_wrk()
    work = bench.WORK
    name = "saas_profile"
    if args.database == "sqlite":
        for suffix in ["", "-wal", "-shm"]:
            Path(f"{work}/{name}.db{suffix}").unlink(missing_ok=True)
    else:
        for statement in [f"drop database if exists {name}", f"create database {name}"]:
            bench.run(["psql", f"{bench.POSTGRES}/postgres", "-qc", statement])
    url = bench.database_url(args.database, name)
    env = {**os.environ, "APP_ENV": "development", "RUST_LOG": "info",
           "BIND_ADDR": "127.0.0.1:3190", "APP_URL": "http://127.0.0.1:3190",
           "DATABASE_URL": url, "DATABASE_MAX_CONNECTIONS": bench.POOL,
           "MAIL_DIR": str(work / "mail")}
    app = bench.Server("profile-app", work / f"target-{args.database}" / "release" / "bench",
                       work / f"app-{args.database}" / "bench", env, 3190)
    ids = bench.seed(app.base)
    floor = bench.Server("profile-floor",
                         work / f"target-floor-{args.database}" / "release" / "floor",
                         bench.ROOT / "bench" / "floor",
                         {**os.environ, "DATABASE_URL": url, "BIND_ADDR": "127.0.0.1:3191",
                          "DATABASE_MAX_CONNECTIONS": bench.POOL}, 3191)
    path = {"list": f"/orgs/{ids['org']}/projects?limit=20",
            "get": f"/orgs/{ids['org']}/projects/{ids['project']}"}[args.route]
    try:
        # CPU per request of both, unprofiled, in turn.
        for _ in range(args.rounds):
            for server in [app, floor]:
                before = cpu_seconds(server)
                result = bench.wrk(server.base + path, ids["token"], args.seconds, 16)
                used = cpu_seconds(server) - before
                print(f"{server.name}: {result['rps']:.0f} req/s, "
                      f"{used / result['requests'] * 1e6:.0f} µs of CPU per request", flush=True)
        if args.no_perf:
            return
        target = floor if args.floor else app
        data = work / "perf.data"
        perf = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384",
                                 "-o", str(data), "-p", str(target.process.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        bench.wrk(target.base + path, ids["token"], args.seconds, 16)
        perf.send_signal(2)
        perf.wait()
    finally:
        app.stop()
        floor.stop()
    report = subprocess.run(["perf", "report", "-i", str(data), "--children", "--sort", "symbol",
                             "--stdio", "-g", "none", "--percent-limit", "0.5"],
                            capture_output=True, text=True).stdout
    for line in report.splitlines():
        if line.strip() and not line.startswith("#"):
            print(" ".join(line.split())[:200])


if __name__ == "__main__":
    main()
