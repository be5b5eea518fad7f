#!/usr/bin/env bash
# A rolling deploy and a rollback of a generated app on this machine's PostgreSQL
# (RELIABILITY_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432): release 1 on
# two instances; release 2 with a migration longer than the statement timeout, started
# on two instances at once while another session holds a lock on the table it alters;
# release 1 stopped one instance at a time; then release 1's binary back on release 2's
# schema. Each step is printed with the seconds since the start, and the instances'
# migration log lines with their own timestamps. It is the reliability suite's
# `rolling-deploy` scenario (reliability/src/scenarios/rolling_deploy.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked --manifest-path reliability/Cargo.toml -- \
    --databases postgres --only rolling-deploy
