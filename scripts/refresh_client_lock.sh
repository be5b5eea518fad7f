#!/usr/bin/env bash
# Resolves the npm packages of a generated app's TypeScript client (client/) afresh
# and stores their lockfile as templates/app/client/package-lock.json.jinja, which
# `saas new` renders with the project's name. Run it after changing the client's
# package.json.jinja, or to take newer versions; then `cargo test client::`, whose
# `npm ci` fails when the lockfile no longer matches package.json.
#
# Usage: scripts/refresh_client_lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# `acme-client` is the package name the template turns back into a placeholder.
target/debug/saas new acme --db sqlite --features none --no-git --path "$work" >/dev/null
client="$work/acme/client"
rm -f "$client/package-lock.json"
(cd "$client" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund >/dev/null)
sed 's/"acme-client"/"{{ package }}-client"/' "$client/package-lock.json" \
  >templates/app/client/package-lock.json.jinja
echo "templates/app/client/package-lock.json.jinja: $(grep -c '"node_modules/' "$client/package-lock.json") packages"
