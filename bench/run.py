#!/usr/bin/env python3
"""The benchmark: what saas costs its users, next to a hand-written floor.

Usage: python3 bench/run.py [--quick] [--only generation,build,runtime]
                            [--databases sqlite,postgres] [--peer]

Prints one table per part and writes them all to bench/RESULTS.md, with the machine,
the date and the versions. Everything it builds and runs lives in bench/work/
(ignored by git); each part starts from a cold target directory of its own there,
with the crates already downloaded (downloads are not build time).

1. Generation: `saas new` and `saas add resource` wall time (median, min, max of 20
   runs) and user CPU time, next to `cargo new` in the same run. Wall time depends on the
   disk: on a freshly provisioned virtual disk, creating files in blocks never written
   before costs ~1 ms each (seen here: `saas new`, 137 files, 129 ms per run in a new
   directory and 13 ms once blocks are reused), which `cargo new`'s 4 files barely feel.
   Its user CPU time does not: that column is the command's own work.
2. Build cost of the all-features app (orgs, rbac, billing) with `Project` and `Task`
   on each database, and of the floor (bench/floor/): cold `cargo build`, crates
   compiled, peak memory of the largest process, the rebuild after one more `saas add
   resource`, `cargo test`, the release binary's size.
3. Runtime (release builds, loopback, wrk): an org-scoped list (a page of 20 of 1,000
   rows across 10 organizations), get-one, create and login, on SQLite and PostgreSQL,
   the app and the floor loaded in turn against the same database, both with a pool of
   4 connections, three rounds each in alternating order (the median is reported);
   requests/s, p50 and p99 latency, errors, and the server's RSS idle and under load.

--only runs some parts; RESULTS.md keeps the sections of the parts not run, each
section saying when and at which commit it was measured.

--peer also builds and loads Loco's SaaS starter (bench/peer.py), beside the figures
of saas measured in the same run.

--quick runs fewer generations and shorter loads: to try the script, not to quote.
PostgreSQL: the server at BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
FEATURES = "orgs,rbac,billing"
PROJECT = ["Project", "title:string", "done:bool"]
TASK = ["Task", "title:string", "project:references"]
POOL = "4"
# Figures of saas measured in this run, which the peer section sets beside Loco's.
MEASURED = {}


def run(command, cwd=None, env=None, quiet=True):
    """Runs `command`, failing the benchmark with its output if it fails."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`{' '.join(map(str, command))}` failed:\n{result.stdout}\n{result.stderr}")
    if not quiet:
        print(result.stdout, end="")
    return result


def timed(command, cwd=None, env=None):
    """Wall seconds, peak RSS in MiB of the largest process, and the result of `command`."""
    started = time.perf_counter()
    result = run(["/usr/bin/time", "-f", "%M", *command], cwd=cwd, env=env)
    wall = time.perf_counter() - started
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    return wall, peak_kib / 1024, result


def spread(values):
    return statistics.median(values), min(values), max(values)


# ---------------------------------------------------------------- 1. generation

# Generation runs made before the counted ones, per command.
WARM_UP = 3


def generation(saas, runs):
    cases = [
        ("cargo new (baseline)", lambda n: ["cargo", "new", "--vcs", "none", "--quiet", n], None),
        ("saas new (all features, SQLite)", lambda n: [saas, "new", n, "--yes", "--no-git"], None),
        ("saas add resource", lambda n: [saas, "add", "resource", *PROJECT],
         lambda n: [saas, "new", n, "--yes", "--no-git"]),
    ]
    rows = []
    base = WORK / "generation"
    for label, command, prepare in cases:
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        times, cpu = [], []
        # The first runs are not counted: on a fresh file system the first files made in
        # a new directory cost several times what later ones do (seen here: 127 ms, then
        # 13 ms, for the same `saas new`), which measures the disk, not the command.
        for i in range(WARM_UP + runs):
            name = f"p{i}"
            cwd = base
            if prepare:
                run(prepare(name), cwd=base)
                cwd = base / name
            # Each run starts with the earlier runs' files on disk, so that their
            # writeback does not slow this one's creates.
            os.sync()
            before = cpu_of_children()
            started = time.perf_counter()
            run(command(name), cwd=cwd)
            if i >= WARM_UP:
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((cpu_of_children() - before) * 1000)
        rows.append((label, *spread(times), statistics.median(cpu)))
        MEASURED[f"generation: {label}"] = statistics.median(times)
    shutil.rmtree(base, ignore_errors=True)
    baseline, baseline_cpu = rows[0][1], rows[0][4]
    table = ["| command | median ms | min ms | max ms | median / cargo new | user CPU ms (median) | user CPU / cargo new |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, median, low, high, cpu in rows:
        table.append(f"| {label} | {median:.1f} | {low:.1f} | {high:.1f} | {median / baseline:.2f} "
                     f"| {cpu:.1f} | {cpu / baseline_cpu:.2f} |")
    return table


def cpu_of_children():
    """User seconds of every child process waited for so far: the command's own work,
    without the kernel's time creating files, which depends on the disk (above)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime


# ---------------------------------------------------------------- 2. build cost

def generate_app(saas, database):
    """The all-features app with Project and Task, in bench/work/app-<database>/bench."""
    parent = WORK / f"app-{database}"
    shutil.rmtree(parent, ignore_errors=True)
    parent.mkdir(parents=True)
    run([saas, "new", "bench", "--db", database, "--features", FEATURES, "--no-git",
         "--path", parent])
    project = parent / "bench"
    run([saas, "add", "resource", *PROJECT], cwd=project)
    run([saas, "add", "resource", *TASK], cwd=project)
    return project


def cargo_env(target):
    return {**os.environ, "CARGO_TARGET_DIR": str(target), "CARGO_TERM_COLOR": "never"}


def compiled(result):
    return len(re.findall(r"^\s*Compiling ", result.stderr, re.MULTILINE))


def database_url(database, name):
    if database == "sqlite":
        return f"sqlite://{WORK}/{name}.db?mode=rwc"
    return f"{POSTGRES}/{name}"


def slowest_units(target, count=10):
    """The crates that took longest in the last `cargo build --timings` into `target`."""
    html = target / "cargo-timings" / "cargo-timing.html"
    if not html.exists():
        return ["(no cargo-timing.html)"]
    match = re.search(r"const UNIT_DATA = (\[.*?\]);\n", html.read_text(), re.DOTALL)
    units = json.loads(match.group(1)) if match else []
    units.sort(key=lambda unit: unit["duration"], reverse=True)
    return [f"{unit['name']} {unit.get('version', '')} ({unit['duration']:.1f} s)"
            for unit in units[:count]]


def build_costs(saas, databases):
    rows = []
    binaries = {}
    slowest = {}
    for database in databases:
        project = generate_app(saas, database)
        target = WORK / f"target-{database}"
        shutil.rmtree(target, ignore_errors=True)
        env = cargo_env(target)
        run(["cargo", "fetch", "--locked"], cwd=project, env=env)
        cold, peak, result = timed(["cargo", "build", "--locked", "--timings"], cwd=project,
                                   env=env)
        crates = compiled(result)
        slowest[database] = slowest_units(target)
        run([saas, "add", "resource", "Note", "body:text"], cwd=project)
        rebuild, _, _ = timed(["cargo", "build", "--locked"], cwd=project, env=env)
        test_env = {**env, "DATABASE_URL": database_url(database, "postgres")} \
            if database == "postgres" else env
        tests, _, _ = timed(["cargo", "test", "--locked"], cwd=project, env=test_env)
        release, _, _ = timed(["cargo", "build", "--release", "--locked"], cwd=project, env=env)
        binary = target / "release" / "bench"
        binaries[database] = (project, binary)
        rows.append((f"saas app, {database}", cold, crates, peak, rebuild, tests, release,
                     binary.stat().st_size))
        MEASURED[f"build: {database}"] = {"cold_s": cold, "crates": crates, "peak_mib": peak,
                                          "rebuild_s": rebuild, "release_s": release,
                                          "binary_mib": binary.stat().st_size / 2**20}

    floor = ROOT / "bench" / "floor"
    for database in databases:
        target = WORK / f"target-floor-{database}"
        shutil.rmtree(target, ignore_errors=True)
        env = cargo_env(target)
        features = ["--features", database]
        run(["cargo", "fetch", "--locked"], cwd=floor, env=env)
        cold, peak, result = timed(["cargo", "build", "--locked", *features], cwd=floor, env=env)
        release, _, _ = timed(["cargo", "build", "--release", "--locked", *features],
                              cwd=floor, env=env)
        binary = target / "release" / "floor"
        binaries[f"floor-{database}"] = (floor, binary)
        rows.append((f"floor, {database}", cold, compiled(result), peak, None, None, release,
                     binary.stat().st_size))

    table = ["| build | cold debug s | crates | peak MiB | rebuild after add s | cargo test s "
             "| release s | release binary MiB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, cold, crates, peak, rebuild, tests, release, size in rows:
        cell = lambda value: "—" if value is None else f"{value:.1f}"
        table.append(f"| {label} | {cold:.1f} | {crates} | {peak:.0f} | {cell(rebuild)} "
                     f"| {cell(tests)} | {release:.1f} | {size / 2**20:.1f} |")
    for database, units in slowest.items():
        table.append(f"\nSlowest crates of the cold {database} build (`cargo build --timings`): "
                     + "; ".join(units) + ".")
    floors = {row[0].split(", ")[1]: row for row in rows if row[0].startswith("floor")}
    for row in rows:
        if row[0].startswith("saas") and row[0].split(", ")[1] in floors:
            floor_row = floors[row[0].split(", ")[1]]
            table.append(f"\n{row[0]}: cold debug build {row[1] / floor_row[1]:.2f}× the floor's, "
                         f"{row[2]} crates against {floor_row[2]}.")
    return table, binaries


def release_binaries(saas, databases):
    """The release builds the runtime part serves, without measuring their cost."""
    binaries = {}
    for database in databases:
        project = generate_app(saas, database)
        target = WORK / f"target-{database}"
        run(["cargo", "build", "--release", "--locked"], cwd=project, env=cargo_env(target))
        binaries[database] = (project, target / "release" / "bench")
        target = WORK / f"target-floor-{database}"
        floor = ROOT / "bench" / "floor"
        run(["cargo", "build", "--release", "--locked", "--features", database], cwd=floor,
            env=cargo_env(target))
        binaries[f"floor-{database}"] = (floor, target / "release" / "floor")
    return binaries


# ---------------------------------------------------------------- 3. runtime

class Server:
    """A release binary serving on a loopback port; its RSS is sampled while it runs."""

    def __init__(self, name, binary, cwd, env, port, args=()):
        self.name = name
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(WORK / f"{name}.log", "w")
        self.process = subprocess.Popen([binary, *args], cwd=cwd, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.peak_rss = 0
        self.sampling = False
        for _ in range(300):
            if self.process.poll() is not None:
                sys.exit(f"{name} exited:\n" + (WORK / f"{name}.log").read_text())
            try:
                urllib.request.urlopen(f"{self.base}/orgs", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer: it serves
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            sys.exit(f"{name} did not answer within 30 s")

    def rss_mib(self):
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def rss_parts_mib(self):
        """Resident memory of the heap and stacks, and of the binary's pages read from disk."""
        rollup = Path(f"/proc/{self.process.pid}/smaps_rollup").read_text()
        kib = {field: int(re.search(rf"^{field}:\s+(\d+) kB", rollup, re.MULTILINE).group(1))
               for field in ["Anonymous", "Rss"]}
        return kib["Anonymous"] / 1024, (kib["Rss"] - kib["Anonymous"]) / 1024

    def sample_while(self, work):
        self.sampling = True
        peak = [self.rss_mib()]

        def sample():
            while self.sampling:
                peak[0] = max(peak[0], self.rss_mib())
                time.sleep(0.1)

        thread = threading.Thread(target=sample)
        thread.start()
        try:
            return work()
        finally:
            self.sampling = False
            thread.join()
            self.peak_rss = max(self.peak_rss, peak[0])

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def request(base, method, path, body=None, token=None, cookies=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies)) \
        if cookies is not None else urllib.request.build_opener()
    with opener.open(req, timeout=30) as response:
        return json.load(response)


def seed(base):
    """One user, an API token, 10 organizations with 100 projects each."""
    import http.cookiejar
    jar = http.cookiejar.CookieJar()
    email, password = "bench@example.com", "bench password"
    request(base, "POST", "/auth/signup", {"email": email, "password": password, "name": "Bench"},
            cookies=jar)
    token = request(base, "POST", "/auth/tokens", {"name": "bench"}, cookies=jar)["token"]
    orgs = []
    for i in range(10):
        org = request(base, "POST", "/orgs", {"name": f"Org {i}"}, token=token)
        orgs.append(org["id"])
        for j in range(100):
            request(base, "POST", f"/orgs/{org['id']}/projects",
                    {"title": f"Project {i}.{j}", "done": j % 2 == 0}, token=token)
    page = request(base, "GET", f"/orgs/{orgs[0]}/projects?limit=20", token=token)
    assert len(page["items"]) == 20 and page["next_cursor"], page
    return {"token": token, "org": orgs[0], "project": page["items"][5]["id"],
            "email": email, "password": password}


def wrk(url, token, seconds, connections, lua=None):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
               "-H", "Content-Type: application/json"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if lua:
        script = WORK / "request.lua"
        script.write_text(lua)
        command += ["-s", str(script)]
    output = run([*command, url]).stdout

    def latency(percent):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency(50),
        "p99": latency(99),
        "requests": total,
        "errors": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(map(int, errors.groups())) if errors else 0),
    }


def post_lua(body):
    return f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'


def median_run(runs):
    """Each figure's median over the rounds; requests and errors are summed."""
    return {
        "rps": statistics.median(run["rps"] for run in runs),
        "p50": statistics.median(run["p50"] for run in runs),
        "p99": statistics.median(run["p99"] for run in runs),
        "requests": sum(run["requests"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
    }


def runtime(binaries, databases, seconds, rounds):
    table = ["| database | route | server | req/s | p50 ms | p99 ms | requests | errors "
             "| vs floor req/s | vs floor p99 |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    memory = ["| database | server | idle RSS MiB | of which anonymous | of which file-backed "
              "| peak RSS under load MiB |",
              "| --- | --- | ---: | ---: | ---: | ---: |"]
    for database in databases:
        name = "saas_bench"
        if database == "sqlite":
            for suffix in ["", "-wal", "-shm"]:
                Path(f"{WORK}/{name}.db{suffix}").unlink(missing_ok=True)
        else:
            run(["psql", f"{POSTGRES}/postgres", "-qc", f"drop database if exists {name}"])
            run(["psql", f"{POSTGRES}/postgres", "-qc", f"create database {name}"])
        url = database_url(database, name)
        project, app_binary = binaries[database]
        app_env = {
            **os.environ, "APP_ENV": "development", "RUST_LOG": "info",
            "BIND_ADDR": "127.0.0.1:3180", "APP_URL": "http://127.0.0.1:3180",
            "DATABASE_URL": url, "DATABASE_MAX_CONNECTIONS": POOL,
            "MAIL_DIR": str(WORK / "mail"),
            # One client logs in thousands of times from one address.
            "AUTH_IP_LIMIT_PER_MINUTE": "100000000",
            # Sixteen clients log in to one account at once: more attempts in flight than
            # the per-account limit lets through.
            "AUTH_ACCOUNT_FAILURE_LIMIT": "100000000",
        }
        app = Server(f"app-{database}", app_binary, project, app_env, 3180)
        ids = seed(app.base)
        floor_dir, floor_binary = binaries[f"floor-{database}"]
        floor = Server(f"floor-{database}", floor_binary, floor_dir,
                       {**os.environ, "DATABASE_URL": url, "BIND_ADDR": "127.0.0.1:3181",
                        "DATABASE_MAX_CONNECTIONS": POOL}, 3181)
        # Idle is measured warm: each server has served requests on all its connections.
        warm = f"/orgs/{ids['org']}/projects?limit=20"
        for server in [app, floor]:
            wrk(server.base + warm, ids["token"], 1, 8)
        time.sleep(2)
        idle = {server.name: server.rss_mib() for server in [app, floor]}
        MEASURED[f"idle: {database}"] = idle[app.name]
        parts = {server.name: server.rss_parts_mib() for server in [app, floor]}

        org, project_id = ids["org"], ids["project"]
        routes = [
            ("list (page of 20)", f"/orgs/{org}/projects?limit=20", None, True),
            ("get one", f"/orgs/{org}/projects/{project_id}", None, True),
            ("create", f"/orgs/{org}/projects", post_lua({"title": "Bench", "done": False}),
             True),
            ("login", "/auth/login",
             post_lua({"email": ids["email"], "password": ids["password"]}), False),
        ]
        for label, path, lua, on_floor in routes:
            servers = [app, floor] if on_floor else [app]
            token = ids["token"] if label != "login" else None
            runs = {server.name: [] for server in servers}
            # Rounds alternate which server goes first, so drift on a shared machine
            # weighs on both; each figure is the median of the rounds.
            for round_ in range(rounds):
                for server in (servers if round_ % 2 == 0 else servers[::-1]):
                    runs[server.name].append(server.sample_while(
                        lambda: wrk(server.base + path, token, seconds, 16, lua)))
            results = {name: median_run(values) for name, values in runs.items()}
            ours = results[app.name]
            MEASURED[f"runtime: {database} {label}"] = ours
            base = results.get(floor.name)
            for server in servers:
                result = results[server.name]
                versus = ("—", "—")
                if server is app and base:
                    versus = (f"{ours['rps'] / base['rps']:.2f}", f"{ours['p99'] / base['p99']:.2f}")
                kind = "saas app" if server is app else "floor"
                table.append(f"| {database} | {label} | {kind} | {result['rps']:.0f} "
                             f"| {result['p50']:.2f} | {result['p99']:.2f} | {result['requests']} "
                             f"| {result['errors']} | {versus[0]} | {versus[1]} |")
        for server, kind in [(app, "saas app"), (floor, "floor")]:
            anonymous, file = parts[server.name]
            memory.append(f"| {database} | {kind} | {idle[server.name]:.1f} | {anonymous:.1f} "
                          f"| {file:.1f} | {server.peak_rss:.1f} |")
        ratios = [idle[app.name] / idle[floor.name],
                  *(ours / base for ours, base in zip(parts[app.name], parts[floor.name]))]
        memory.append(f"| {database} | ratio idle | " + " | ".join(f"{r:.2f}" for r in ratios)
                      + " | |")
        app.stop()
        floor.stop()
    return table, memory


# ---------------------------------------------------------------- the report

def versions():
    def first_line(command):
        try:
            return subprocess.run(command, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "not found"
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    commit = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "templates"],
                      capture_output=True, text=True).stdout.strip():
        commit += " with uncommitted changes to src/ or templates/"
    return [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {cpu}, {os.cpu_count()} cores, {memory / 2**20:.0f} GiB, {platform.platform()}",
        f"- saas: {commit}; {first_line(['rustc', '--version'])}; "
        f"{first_line(['cargo', '--version'])}",
        f"- Load: {first_line(['wrk', '--version'])}; "
        f"PostgreSQL: {first_line(['psql', '--version'])}",
    ]


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("installing wrk (Debian)")
    run(["apt-get", "install", "-y", "-qq", "wrk"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="generation,build,runtime")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--peer", action="store_true",
                        help="also build and load Loco's SaaS starter (about 20 minutes more)")
    args = parser.parse_args()
    parts = args.only.split(",")
    databases = args.databases.split(",")
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_wrk()
    run(["cargo", "build", "--release", "--locked"], cwd=ROOT)
    saas = str(ROOT / "target" / "release" / "saas")

    results = ROOT / "bench" / "RESULTS.md"
    sections = previous_sections(results)
    command = " ".join(["python3 bench/run.py", *sys.argv[1:]])
    stamp = [*versions(), f"- Command: `{command}`"]

    def section(title, lines):
        print(f"\n## {title}\n" + "\n".join(lines), flush=True)
        key = title.split(" (")[0]
        lines = keep_other_databases(sections.get(key, []), lines, databases)
        sections[key] = [f"## {title}", "", *stamp, "", *lines, ""]

    if "generation" in parts:
        section("Generation (wall time)", generation(saas, 5 if args.quick else 20))
    binaries = None
    if "build" in parts:
        table, binaries = build_costs(saas, databases)
        section("Build cost (all features, Project and Task; floor)", table)
    if "runtime" in parts:
        binaries = binaries or release_binaries(saas, databases)
        table, memory = runtime(binaries, databases, 3 if args.quick else 10,
                                1 if args.quick else 3)
        section("Runtime (release, loopback, wrk -t2 -c16, pool of 4; median of "
                f"{1 if args.quick else 3} rounds of {3 if args.quick else 10} s)", table)
        section("Memory", memory)
    if args.peer:
        try:
            section("Peer (Loco's SaaS starter, SQLite, `project` scaffold)",
                    peer_table(3 if args.quick else 10, 1 if args.quick else 3))
        except (Exception, SystemExit) as error:  # the other parts are still written
            print(f"the peer failed: {error}", file=sys.stderr)

    order = ["Generation", "Build cost", "Runtime", "Memory", "Peer"]
    body = ["# Benchmark results", "",
            "Written by `python3 bench/run.py`; see its docstring for what each part measures.",
            ""]
    for name in order:
        body.extend(sections.get(name, []))
    results.write_text("\n".join(body))
    print(f"\nwritten to {results}")


def peer_table(seconds, rounds):
    """Loco's figures beside saas's from this run (— where that part did not run)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("peer", Path(__file__).with_name("peer.py"))
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    loco = peer.measure(sys.modules[__name__], seconds, rounds)
    build = MEASURED.get("build: sqlite", {})
    rows = [
        ("generate the project, ms", loco["new_ms"],
         MEASURED.get("generation: saas new (all features, SQLite)"), None),
        ("cold debug build, s", loco["cold_s"], build.get("cold_s"), 0.5),
        ("crates compiled", loco["crates"], build.get("crates"), None),
        ("peak memory of the build, MiB", loco["peak_mib"], build.get("peak_mib"), None),
        ("add a resource (Loco: generate scaffold), s", loco["scaffold_s"],
         MEASURED.get("generation: saas add resource", 0) / 1000 or None, None),
        ("rebuild after it, s", loco["rebuild_s"], build.get("rebuild_s"), 0.5),
        ("release build, s", loco["release_s"], build.get("release_s"), None),
        ("release binary, MiB", loco["binary_mib"], build.get("binary_mib"), None),
        ("list req/s (a page of 20 of 1,000; saas: org-scoped, API token; Loco: JWT)",
         loco["list"]["rps"], MEASURED.get("runtime: sqlite list (page of 20)", {}).get("rps"),
         None),
        ("list p99 ms", loco["list"]["p99"],
         MEASURED.get("runtime: sqlite list (page of 20)", {}).get("p99"), None),
        ("get-one req/s", loco["get"]["rps"],
         MEASURED.get("runtime: sqlite get one", {}).get("rps"), None),
        ("idle RSS, MiB", loco["idle_rss_mib"], MEASURED.get("idle: sqlite"), None),
    ]
    table = [f"Loco: `{loco['version']}`; wrk -t2 -c16, {rounds} round(s) of {seconds} s, "
             "pool of 4.", "",
             "| measure | Loco | saas | saas / Loco | target |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, theirs, ours, target in rows:
        number = lambda value: "—" if value is None else (
            f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.3f}")
        ratio = "—" if ours is None else f"{ours / theirs:.2f}"
        goal = "—" if target is None else f"≤ {target}"
        table.append(f"| {label} | {number(theirs)} | {number(ours)} | {ratio} | {goal} |")
    return table


def keep_other_databases(previous, lines, databases):
    """`lines` with the rows of `previous` for the databases this run left out, marked
    as coming from the earlier run: a run on one database keeps the other's figures."""
    others = [d for d in ("sqlite", "postgres") if d not in databases]
    kept = [line for line in previous if line.startswith("|")
            and any(f"| {d} |" in line or f", {d} |" in line for d in others)]
    if not kept:
        return lines
    end = next((i for i, line in enumerate(lines) if i > 1 and not line.startswith("|")),
               len(lines))
    stamp = "; ".join(line[2:] for line in previous
                      if line.startswith("- Date:") or line.startswith("- saas:"))
    note = f"The {' and '.join(others)} rows are from an earlier run ({stamp})."
    return [*lines[:end], *kept, "", note, *lines[end:]]


def previous_sections(path):
    """The sections of an earlier RESULTS.md, by title up to its first parenthesis."""
    sections = {}
    if not path.exists():
        return sections
    current = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            current = line[3:].split(" (")[0]
            sections[current] = []
        if current:
            sections[current].append(line)
    for lines in sections.values():
        if lines[-1] != "":
            lines.append("")
    return sections


if __name__ == "__main__":
    main()
