#!/usr/bin/env python3
"""Checks a generated app against its own OpenAPI document with schemathesis.
Usage: scripts/contract.py

Generates an SQLite app with the default features (`--yes`) and a `Project` resource,
builds it, serves it on a free port over a fresh database (its Stripe calls answered
by a small local fake), signs up a user, creates an API token, and runs schemathesis
against `/openapi.json` with that token. The run fails on a status the
document does not list, a response that does not match its schema, and any 5xx.
Exits with schemathesis' status.

Environment: CONTRACT_TARGET_DIR, the app's cargo target directory (default
target/tmp/generated, the one the end-to-end tests build their apps in, so the
dependencies compile once);
CONTRACT_MAX_EXAMPLES (default 50 per operation); CONTRACT_SEED (default 1);
CONTRACT_PHASES and CONTRACT_CHECKS, to try other schemathesis phases and checks;
CONTRACT_DATABASE_URL, an empty PostgreSQL database to test a PostgreSQL app instead.
"""
import contextlib
import http.cookiejar
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "contract-venv"
# The flags used below are those of `st run --help` in 4.x; 3.x named several differently.
SCHEMATHESIS = "schemathesis>=4.32,<5"
# The resource the run adds: PROJECT_FIELDS of tests/cli/common/mod.rs (every kind of
# column once), read from there so the two runs cannot drift apart.
PROJECT_FIELDS = re.findall(
    r'"([^"]+)"',
    re.search(r"pub const PROJECT_FIELDS: &\[&str\] = &\[(.*?)\];",
              (ROOT / "tests" / "cli" / "common" / "mod.rs").read_text(), re.S).group(1),
)
# A hung app fails the run instead of holding CI: the run takes well under a minute.
RUN_TIMEOUT_SECONDS = 600
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


def run(command, **kwargs):
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def schemathesis():
    """The `st` executable, installed from PyPI into a virtualenv under target/ if missing."""
    st = VENV / "bin" / "st"
    if not st.exists():
        run([sys.executable, "-m", "venv", VENV])
        run([VENV / "bin" / "pip", "install", "--quiet", SCHEMATHESIS])
    return st


class FakeStripe(http.server.BaseHTTPRequestHandler):
    """The Stripe calls checkout and the portal make, answered in Stripe's JSON shapes, so that
    checkout and the portal answer as with Stripe instead of 503 billing_not_configured
    (the app's own tests check what it sends; this only has to answer)."""

    PREFIXES = {
        "/v1/customers": "cus",
        "/v1/checkout/sessions": "cs",
        "/v1/billing_portal/sessions": "bps",
    }

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        prefix = self.PREFIXES.get(self.path)
        # Like Stripe, a new id for every object created.
        object_id = f"{prefix}_{uuid.uuid4().hex}"
        answer = prefix and {"id": object_id, "url": f"https://stripe.test/{object_id}"}
        # A new checkout expires the session it replaces.
        if self.path.startswith("/v1/checkout/sessions/") and self.path.endswith("/expire"):
            answer = {"id": self.path.split("/")[4], "status": "expired"}
        status = 200 if answer else 404
        body = json.dumps(answer or {"error": {"type": "invalid_request_error",
                                                "message": "Unrecognized request URL"}})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def start_fake_stripe():
    """Serves FakeStripe on a free port in a daemon thread; returns its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_app(work, database):
    own_target = ROOT / "target"
    run(["cargo", "build", "--quiet", "--bin", "saas"], cwd=ROOT,
        env={**os.environ, "CARGO_TARGET_DIR": str(own_target)})
    saas = own_target / "debug" / "saas"
    run([saas, "new", "contract", "--db", database, "--yes", "--no-git", "--path", work],
        stdout=subprocess.DEVNULL)
    app = work / "contract"
    run([saas, "add", "resource", "Project", *PROJECT_FIELDS], cwd=app, stdout=subprocess.DEVNULL)
    target = Path(os.environ.get("CONTRACT_TARGET_DIR", ROOT / "target" / "tmp" / "generated"))
    # --locked and no debug info, as the end-to-end tests build their apps in the same
    # target directory: the dependencies compiled there are reused.
    env = {**os.environ, "CARGO_TARGET_DIR": str(target), "CARGO_PROFILE_DEV_DEBUG": "0"}
    run(["cargo", "build", "--quiet", "--locked"], cwd=app, env=env)
    return target / "debug" / "contract"


def wait_until_up(base, server, log_path):
    for _ in range(300):
        if server.poll() is not None:
            sys.exit(f"the app exited with {server.returncode} before it answered:\n"
                     + log_path.read_text())
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    sys.exit("the app did not answer /health within 30 seconds")


@contextlib.contextmanager
def serve_app(binary, work, database_url, **settings):
    """Serves the app built by build_app on a free port until the block ends: from its
    project's directory, as `cargo run` starts it (config/plans.toml is read there), with
    `settings` added to the environment and its log in WORK/server.log. Yields the base URL
    once /health answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "APP_ENV": "test", "BIND_ADDR": f"127.0.0.1:{port}", "APP_URL": base,
           "DATABASE_URL": database_url, "MAIL_DIR": str(work / "mail"), "RUST_LOG": "error",
           **settings}
    log_path = work / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([binary], cwd=work / "contract", env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        wait_until_up(base, server, log_path)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def api_token(base):
    """Signs up a user (a session cookie) and creates an API token with that session."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def post(path, body):
        request = urllib.request.Request(
            f"{base}{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with browser.open(request, timeout=30) as response:
            return json.load(response)

    post("/auth/signup", {"email": "contract@example.com", "password": "contract password",
                          "name": "Contract"})
    return post("/auth/tokens", {"name": "schemathesis"})["token"]


def main():
    st = schemathesis()
    work = Path(tempfile.mkdtemp(prefix="contract-"))
    try:
        database_url = os.environ.get("CONTRACT_DATABASE_URL", f"sqlite://{work}/contract.db?mode=rwc")
        binary = build_app(work, database_url.split(":")[0])
        with serve_app(
            binary, work, database_url,
            # Schemathesis sends thousands of requests from one address.
            AUTH_IP_LIMIT_PER_MINUTE="1000000",
            AUTH_ACCOUNT_FAILURE_LIMIT="1000000",
            RUST_LOG="warn",
            # Billing (the --yes app has it): webhooks are checked against a secret and
            # refused without its signature (400); Stripe calls go to a local fake.
            STRIPE_WEBHOOK_SECRET="whsec_contract",
            STRIPE_SECRET_KEY="sk_test_contract",
            STRIPE_PRICE_PRO="price_contract_pro",
            STRIPE_API_BASE=start_fake_stripe(),
        ) as base:
            token = api_token(base)
            started = time.monotonic()
            result = subprocess.run([
                st, "run", f"{base}/openapi.json",
                "--header", f"Authorization: Bearer {token}",
                "--checks", os.environ.get("CONTRACT_CHECKS", CHECKS),
                "--phases", os.environ.get("CONTRACT_PHASES", "examples,coverage,fuzzing,stateful"),
                "--max-examples", os.environ.get("CONTRACT_MAX_EXAMPLES", "50"),
                "--seed", os.environ.get("CONTRACT_SEED", "1"),
                "--generation-database", "none",
                "--request-timeout", "10",
                "--no-color",
            ], cwd=work, timeout=RUN_TIMEOUT_SECONDS)
            print(f"schemathesis took {time.monotonic() - started:.0f} s", flush=True)
        if result.returncode != 0:
            print("--- the app's log (last 40 lines) ---")
            print("\n".join((work / "server.log").read_text().splitlines()[-40:]))
        return result.returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
