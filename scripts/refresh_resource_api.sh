#!/usr/bin/env bash
# Records tests/cli/resource_api/<fixture>.json afresh: for each fixture project of
# tests/cli/resource_api.rs, what its built app serves for its resources, and the
# fingerprint of the source utoipa read. Run it after changing the resource model
# (src/render/model.rs, src/render/openapi.rs) or what utoipa reads in the templates
# (routes' attributes, schemas, response sets), then review
# `git diff tests/cli/resource_api`: the fast test compares saas's document with it.
#
# Generated projects build where the end-to-end tests build them
# (target/tmp/generated), so dependencies build once.
#
# Usage: scripts/refresh_resource_api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SAAS_RECORD_RESOURCE_API=1 cargo test --quiet --test cli -- \
  resource_api::the_document_saas_writes_for_resources_is_the_one_their_app_served
git status --short tests/cli/resource_api
