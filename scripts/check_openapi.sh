#!/usr/bin/env bash
# Compares the OpenAPI document that `saas new` composes from templates/openapi/ (the
# base document and a fragment per feature) with the one the generated app serves,
# for every feature set. For each set it generates a project, keeps the snapshot saas
# wrote, lets the project's own snapshot test write it afresh from the app, and shows
# the difference. Run it after changing what the templates' routes document, then edit
# the fragment of the feature whose routes changed (base.json.jinja when no feature's).
# The end-to-end tests hold the same documents to the app, with resources added by
# `saas add resource` and after removing them.
#
# Generated projects build in $CARGO_TARGET_DIR (default target/generated), shared,
# so dependencies build once.
#
# Usage: scripts/check_openapi.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Its own target directory: CARGO_TARGET_DIR below is for the generated projects.
cargo build --quiet --target-dir target
saas="$PWD/target/debug/saas"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/generated}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
for features in $("$saas" debug feature-sets); do
  name="${features//,/-}"
  mkdir -p "$work/$name"
  # The document does not depend on the database; SQLite tests need no server.
  "$saas" new acme --db sqlite --features "$features" --no-git --path "$work/$name" >/dev/null
  project="$work/$name/acme"
  snapshot="$project/tests/api/snapshots/openapi.snap"
  mv "$snapshot" "$work/$name/composed.snap"
  (cd "$project" && INSTA_UPDATE=always cargo test --quiet --locked --test acme_api the_api_is_the_one_on_record >/dev/null)
  if diff -u --label "composed ($features)" --label "served ($features)" "$work/$name/composed.snap" "$snapshot"; then
    echo "$features: the composed document is the app's ($(grep -c '"operationId"' "$snapshot") operations)"
  else
    status=1
  fi
done
exit "$status"
