"""The peer: Loco's SaaS starter from crates.io, measured as the benchmark measures saas.

Run by `python3 bench/run.py --peer` (it adds about 20 minutes). The starter is the one
`loco new` makes for "SaaS app with server side rendering" (`--db sqlite --bg async
--assets serverside`); `cargo loco generate scaffold project title:string done:bool
--api` adds the resource (its routes need a JWT). Measured: `loco new`, the cold debug
build (crates, peak memory), the scaffold command (which compiles the app to run its
generator, then runs sea-orm-cli), the rebuild after it, the release build and binary,
and with wrk, signed in with a JWT, a page of 20 of 1,000 projects
(GET /api/projects?page_size=20) and get-one, with a pool of 4, and idle RSS. Loco's
scaffold is not scoped to an organization: its list and get check the JWT's signature
and query the projects table, where saas also looks up the API token and the
membership.
"""
import os
import shutil
import time
from pathlib import Path

PORT = 3182


def install_tools(bench):
    """`loco`, and `sea-orm-cli` that its scaffold generator runs, installed under
    bench/work/peer-tools (not measured); the directory of their binaries."""
    tools = bench.WORK / "peer-tools"
    for crate, binary in [("loco", "loco"), ("sea-orm-cli", "sea-orm-cli")]:
        if not (tools / "bin" / binary).exists():
            print(f"installing {crate} from crates.io")
            bench.run(["cargo", "install", crate, "--locked", "--root", str(tools)])
    return tools / "bin"


def measure(bench, seconds, rounds):
    """Loco's build and runtime figures, as a dict of label -> value."""
    tools = install_tools(bench)
    loco = tools / "loco"
    source = bench.WORK / "peer"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    started = time.perf_counter()
    bench.run([str(loco), "new", "--name", "peer", "--db", "sqlite", "--bg", "async",
               "--assets", "serverside", "--allow-in-git-repo", "--path", str(source)])
    figures = {"new_ms": (time.perf_counter() - started) * 1000,
               "version": bench.run([str(loco), "--version"]).stdout.strip()}
    project = source / "peer"
    target = bench.WORK / "target-peer"
    shutil.rmtree(target, ignore_errors=True)
    env = {**bench.cargo_env(target), "PATH": f"{tools}:{os.environ['PATH']}",
           "LOG_LEVEL": "info", "BINDING": "127.0.0.1", "PORT": str(PORT),
           "DB_MAX_CONNECTIONS": bench.POOL,
           "DATABASE_URL": f"sqlite://{bench.WORK}/peer_dev.sqlite?mode=rwc"}
    bench.run(["cargo", "fetch"], cwd=project, env=env)
    cold, peak, result = bench.timed(["cargo", "build"], cwd=project, env=env)
    figures.update(cold_s=cold, crates=bench.compiled(result), peak_mib=peak)
    scaffold, _, _ = bench.timed(["cargo", "loco", "generate", "scaffold", "project",
                                  "title:string", "done:bool", "--api"], cwd=project, env=env)
    rebuild, _, _ = bench.timed(["cargo", "build"], cwd=project, env=env)
    release, _, _ = bench.timed(["cargo", "build", "--release"], cwd=project, env=env)
    binary = target / "release" / "peer-cli"
    figures.update(scaffold_s=scaffold, rebuild_s=rebuild, release_s=release,
                   binary_mib=binary.stat().st_size / 2**20)

    for suffix in ["", "-wal", "-shm"]:
        Path(f"{bench.WORK}/peer_bench.sqlite{suffix}").unlink(missing_ok=True)
    serve_env = {**env, "DATABASE_URL": f"sqlite://{bench.WORK}/peer_bench.sqlite?mode=rwc"}
    server = bench.Server("peer", binary, project, serve_env, PORT, args=["start"])
    try:
        email, password = "bench@example.com", "bench password"
        bench.request(server.base, "POST", "/api/auth/register",
                      {"email": email, "password": password, "name": "Bench"})
        token = bench.request(server.base, "POST", "/api/auth/login",
                              {"email": email, "password": password})["token"]
        ids = [bench.request(server.base, "POST", "/api/projects",
                             {"title": f"Project {i}", "done": i % 2 == 0}, token=token)["id"]
               for i in range(1000)]
        page = bench.request(server.base, "GET", "/api/projects?page_size=20", token=token)
        assert len(page["items"]) == 20, page
        bench.wrk(server.base + "/api/projects?page_size=20", token, 1, 8)
        time.sleep(2)
        figures["idle_rss_mib"] = server.rss_mib()
        for label, path in [("list", "/api/projects?page_size=20"),
                            ("get", f"/api/projects/{ids[500]}")]:
            runs = [server.sample_while(lambda: bench.wrk(server.base + path, token, seconds, 16))
                    for _ in range(rounds)]
            figures[label] = bench.median_run(runs)
        figures["peak_rss_mib"] = server.peak_rss
    finally:
        server.stop()
    return figures
