#!/usr/bin/env bash
# Regenerates packages/osp-client/src/gen from ../proto (committed code).
# With --check, generates into a temporary directory and fails when the
# committed code differs, so a contract change cannot go unnoticed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
gen=packages/osp-client/src/gen
if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  npx buf generate --template buf.gen.yaml -o "$tmp"
  if ! diff -r "$tmp/$gen" "$gen"; then
    echo "generated client is stale: run backstage-plugin/scripts/generate.sh" >&2
    exit 1
  fi
  echo "generated client is fresh"
else
  rm -rf "$gen"
  npx buf generate --template buf.gen.yaml
  echo "generated $gen"
fi
