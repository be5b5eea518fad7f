#!/usr/bin/env python3
"""Times `saas new` and `saas add resource` against a process-start baseline.
Usage: scripts/bench_new.py [runs]

Builds the release binary, then runs each command RUNS times (default 20) in a
temporary directory and prints the median and worst wall time of each. Each
`add resource` run gets a fresh project, made before the clock starts.
"""
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
binary = root / "target" / "release" / "saas"


def measure(args, fresh_dir):
    times = []
    with tempfile.TemporaryDirectory() as parent:
        for i in range(runs):
            target = Path(parent) / f"p{i}"
            start = time.perf_counter()
            subprocess.run([binary, *args(f"p{i}")], cwd=parent, check=True, stdout=subprocess.DEVNULL)
            times.append((time.perf_counter() - start) * 1000)
            if fresh_dir:
                shutil.rmtree(target)
    return statistics.median(times), max(times)


cases = [
    ("saas --version (baseline: process start)", lambda _: ["--version"], False),
    ("saas new NAME --yes --no-git", lambda n: ["new", n, "--yes", "--no-git"], True),
    ("saas new NAME --db postgres --yes --no-git", lambda n: ["new", n, "--db", "postgres", "--yes", "--no-git"], True),
    ("saas new NAME --yes (git init + first commit)", lambda n: ["new", n, "--yes"], True),
]
FIELDS = ["title:string", "description:text?", "done:bool", "priority:i32", "due_on:date?", "budget:decimal?", "meta:json?"]


def measure_add(extra):
    times = []
    with tempfile.TemporaryDirectory() as parent:
        for i in range(runs):
            subprocess.run([binary, "new", f"p{i}", "--yes", "--no-git"], cwd=parent, check=True, stdout=subprocess.DEVNULL)
            start = time.perf_counter()
            subprocess.run([binary, "add", "resource", "Project", *FIELDS, *extra], cwd=Path(parent) / f"p{i}", check=True, stdout=subprocess.DEVNULL)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def measure_copy():
    """The file system's share: copying a generated project writes the same files."""
    times = []
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run([binary, "new", "source", "--yes", "--no-git"], cwd=parent, check=True, stdout=subprocess.DEVNULL)
        for i in range(runs):
            start = time.perf_counter()
            subprocess.run(["cp", "-r", "source", f"copy{i}"], cwd=parent, check=True)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


baseline = None
for label, args, fresh in cases:
    median, worst = measure(args, fresh)
    baseline = baseline or median
    print(f"{label:48} median {median:6.1f} ms  worst {worst:6.1f} ms  ({median / baseline:4.1f}x baseline)")
median, worst = measure_copy()
print(f"{'cp -r of a new project (file-system baseline)':48} median {median:6.1f} ms  worst {worst:6.1f} ms  ({median / baseline:4.1f}x baseline)")
for label, extra in [("saas add resource Project <7 fields> --dry-run", ["--dry-run"]), ("saas add resource Project <7 fields>", [])]:
    median, worst = measure_add(extra)
    print(f"{label:48} median {median:6.1f} ms  worst {worst:6.1f} ms  ({median / baseline:4.1f}x baseline)")
