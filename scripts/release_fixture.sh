#!/usr/bin/env bash
# Keeps a released saas's golden examples as a test fixture: what that release
# generated, byte for byte. tests/cli/upgrade.rs upgrades these projects to the current
# templates, and tests/cli/migrations.rs holds every migration in them unchanged.
#
# Usage: scripts/release_fixture.sh VERSION COMMIT
#   COMMIT is the commit of the release (its examples/ are that release's output);
#   writes tests/fixtures/releases/VERSION.tar.gz, the same bytes at every run.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/release_fixture.sh VERSION COMMIT}
commit=${2:?usage: scripts/release_fixture.sh VERSION COMMIT}

written=$(git show "$commit:Cargo.toml" | sed -n 's/^version = "\(.*\)"$/\1/p' | head -1)
if [ "$written" != "$version" ]; then
  echo "error: $commit is saas $written, not $version" >&2
  exit 1
fi
mkdir -p tests/fixtures/releases
git archive --format=tar "$commit" examples/ | gzip -n -9 >"tests/fixtures/releases/$version.tar.gz"
echo "wrote tests/fixtures/releases/$version.tar.gz from $commit"
