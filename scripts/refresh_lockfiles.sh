#!/usr/bin/env bash
# Resolves the dependencies of each dependency set of a generated app afresh and
# stores its Cargo.lock in templates/lockfiles/, where `saas new` takes it from.
# A set is a database with or without billing (orgs and rbac add no crates). Run it to
# take newer versions of the dependencies, then `cargo test`: the end-to-end tests
# build every variant with `--locked`, and fail when a lockfile no longer fits.
#
# Usage: scripts/refresh_lockfiles.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
saas="$PWD/target/debug/saas"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for database in sqlite postgres; do
  for features in none billing; do
    name="$database"
    [ "$features" = billing ] && name="$database-billing"
    # `acme` is the package name lockfile.rs renames (STORED_NAME).
    mkdir -p "$work/$name"
    "$saas" new acme --db "$database" --features "$features" --no-git --path "$work/$name" >/dev/null
    project="$work/$name/acme"
    rm "$project/Cargo.lock"
    (cd "$project" && cargo generate-lockfile --quiet)
    cp "$project/Cargo.lock" "templates/lockfiles/$name.lock"
    echo "templates/lockfiles/$name.lock: $(grep -c '^\[\[package\]\]' "$project/Cargo.lock") packages"
  done
done
