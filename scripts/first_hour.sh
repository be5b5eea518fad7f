#!/usr/bin/env bash
# The newcomer's first hour, timed: a fresh clone of this repository, `cargo install`,
# `saas new acme --yes`, the first build, `cargo run`, `saas add resource Project`, a
# restart, `cargo run -- seed`, the README's curl calls, and the generated TypeScript
# client listing the seeded projects. Each step as the READMEs give it, but two: saas is
# installed under WORK/root instead of ~/.cargo/bin, and the TypeScript file is run with
# `npx tsx` (the README type-checks the client; running it is a frontend's toolchain).
#
# Usage: scripts/first_hour.sh [WORK]   (default: a new temporary directory)
# Needs cargo, git, curl, python3, npm and port 3000 free.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work" && cd "$work" && rm -rf saas acme
t() { echo "[$(date +%T)] $*"; }
start=$SECONDS
step() { local from=$SECONDS; t "== $1"; shift; "$@"; t "   took $((SECONDS-from)) s"; }
step "clone" git clone -q "$repo" saas
cd saas
step "cargo install --path ." cargo install -q --path . --root "$work/root"
export PATH="$work/root/bin:$PATH"
cd "$work"
step "saas new acme --yes" saas new acme --yes
cd acme
step "first build (cargo build)" cargo build -q
serve() { (cargo run -q > "$work/server.log" 2>&1 &) ; for _ in $(seq 1 600); do curl -sf localhost:3000/health/live >/dev/null && return; sleep 1; done; return 1; }
step "cargo run until /health answers" serve
curl -s localhost:3000/health; echo
step "saas add resource Project" saas add resource Project title:string description:text:optional done:bool due_on:date:optional
pkill -f target/debug/acme || true; sleep 1
step "restart (rebuild + serve)" serve
step "cargo run -- seed" cargo run -q -- seed
curl -s -o /dev/null -w "GET /docs: %{http_code}\n" localhost:3000/docs
curl -s -c "$work/cookies" -H 'content-type: application/json' -d '{"email":"demo@example.com","password":"demo-password"}' localhost:3000/auth/login -o /dev/null -w "login: %{http_code}\n"
org=$(curl -s -b "$work/cookies" localhost:3000/orgs | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
curl -s -b "$work/cookies" "localhost:3000/orgs/$org/projects" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("projects over curl:", [p["title"] for p in d["items"]])'
cd client
step "npm ci" npm ci --silent
step "npm run typecheck" npm run -s typecheck
# Node keeps no cookies, so a program signs its calls with an API token (the README's curl).
token=$(curl -s -b "$work/cookies" -H 'content-type: application/json' -d '{"name":"walk","read_only":true}' localhost:3000/auth/tokens | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
echo "export const token = \"$token\";" > src/token.ts
cat > src/list-projects.ts <<'TS'
// Lists the demo organization's projects through the typed client, with an API token.
import { createClient } from "./client";
import { token } from "./token";

const api = createClient({ baseUrl: "http://localhost:3000", token });
const orgs = await api.GET("/orgs");
if (orgs.error) throw new Error(orgs.error.error.message);
const org = orgs.data[0];
if (org === undefined) throw new Error("no organization");
const projects = await api.GET("/orgs/{org_id}/projects", {
  params: { path: { org_id: org.id } },
});
if (projects.error) throw new Error(projects.error.error.message);
console.log("projects over the TypeScript client:", projects.data.items.map((p) => p.title));
TS
step "typecheck with list-projects.ts" npm run -s typecheck
step "run list-projects.ts (npx tsx)" npx --yes tsx src/list-projects.ts
pkill -f target/debug/acme || true
t "total $((SECONDS-start)) s"
