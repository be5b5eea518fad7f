#!/usr/bin/env bash
# Writes templates/openapi/<features>.json.jinja afresh: the OpenAPI document that a new
# project of each feature set serves, which `saas new` ships as the project's API
# snapshot (tests/api/snapshots/openapi.snap). For each set it generates
# a project, drops its snapshot and lets the project's own snapshot test write it
# from the app. Run it after changing what the templates' routes document, then
# `cargo test`: the end-to-end tests run every variant's snapshot test, with
# resources added by `saas add resource` and after removing them.
#
# Generated projects build in $CARGO_TARGET_DIR (default target/generated), shared,
# so dependencies build once.
#
# Usage: scripts/refresh_openapi.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Its own target directory: CARGO_TARGET_DIR below is for the generated projects.
cargo build --quiet --target-dir target
saas="$PWD/target/debug/saas"

sets=$("$saas" debug feature-sets)
# `saas new` embeds these files: a set new to saas needs one, even empty, to run
# (and saas rebuilt with it).
missing=0
for features in $sets; do
  file="templates/openapi/${features//,/-}.json.jinja"
  [ -f "$file" ] || { echo '{}' > "$file"; missing=1; }
done
[ "$missing" = 0 ] || cargo build --quiet --target-dir target
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/generated}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for features in $sets; do
  name="${features//,/-}"
  mkdir -p "$work/$name"
  # The document does not depend on the database; SQLite tests need no server.
  "$saas" new acme --db sqlite --features "$features" --no-git --path "$work/$name" >/dev/null
  project="$work/$name/acme"
  snapshot="$project/tests/api/snapshots/openapi.snap"
  rm "$snapshot"
  (cd "$project" && INSTA_UPDATE=always cargo test --quiet --locked --test acme_api the_api_is_the_one_on_record >/dev/null)
  # Below insta's four header lines, the document as the test prints it, with the
  # project's names made template variables: the title, and the crate name that
  # prefixes API tokens.
  stored="templates/openapi/$name.json.jinja"
  tail -n +5 "$snapshot" | sed \
    -e 's/\bacme_/{{ crate_name }}_/g' \
    -e 's/"title": "Acme"/"title": "{{ title }}"/' \
    -e 's/"The Acme HTTP API\."/"The {{ title }} HTTP API."/' > "$stored"
  if grep -in 'acme' "$stored"; then
    echo "$stored: the project name is left in the document (above); teach this script its place" >&2
    exit 1
  fi
  echo "$stored: $(grep -c '"operationId"' "$stored") operations"
done
