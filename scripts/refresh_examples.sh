#!/usr/bin/env bash
# Regenerates the golden examples: the projects in examples/, made by the saas of this
# checkout. tests/cli/golden.rs runs this script into a temporary directory and fails
# on any difference from examples/, so every template change shows as a diff of real
# code: run it, review `git diff examples/`, and commit both together.
#
# Usage: scripts/refresh_examples.sh [DIR]   (default: examples)
# SAAS=<path> uses that saas binary instead of building this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-examples}

if [ -z "${SAAS:-}" ]; then
  cargo build --quiet
  SAAS="$PWD/target/debug/saas"
fi
# Fixed migration times, so the files are the same at every run.
export SAAS_NOW=1798761600

rm -rf "$dest/acme-pg" "$dest/acme-lite"
mkdir -p "$dest"

# Every feature on PostgreSQL: a resource limited on the free plan, one that
# references it, names a member, and needs the plan feature `reports`, and one that
# references that one (its tests create a task, and the project before it).
"$SAAS" new acme-pg --db postgres --features orgs,rbac,billing --no-git --path "$dest" >/dev/null
(
  cd "$dest/acme-pg"
  "$SAAS" add resource Project title:string description:text:optional done:bool due_on:date:optional --limit free=3 >/dev/null
  "$SAAS" add resource Task title:string project:references assignee:references:user:optional --feature reports >/dev/null
  "$SAAS" add resource Comment body:text task:references >/dev/null
)

# No feature on SQLite, with one resource.
"$SAAS" new acme-lite --db sqlite --features none --no-git --path "$dest" >/dev/null
(
  cd "$dest/acme-lite"
  "$SAAS" add resource Note body:text pinned:bool >/dev/null
)
