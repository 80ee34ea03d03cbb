#!/usr/bin/env bash
# Builds the publishable osp packages with backstage-cli and packs each into
# a tarball, exactly what `npm publish` would upload.
# Usage: scripts/pack.sh [OUT_DIR]   (default: backstage-plugin/dist-packages)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "${1:-$here/dist-packages}" && cd "${1:-$here/dist-packages}" && pwd)"
cd "$here"
# The packages a Backstage app installs; the integration tests stay private.
packages=(osp-client catalog-backend-module-osp scaffolder-backend-module-osp scaffolder-module-osp
  osp-common osp-backend osp)
rm -rf dist-types
npm run --silent build:types
for p in "${packages[@]}"; do
  (cd "packages/$p" && npx --no-install backstage-cli package build >/dev/null 2>&1) \
    || { echo "backstage-cli package build failed in packages/$p" >&2;
         (cd "packages/$p" && npx --no-install backstage-cli package build); exit 1; }
done
rm -f "$out"/*.tgz
for p in "${packages[@]}"; do
  # npm pack runs prepack/postpack: backstage-cli swaps in publishConfig.
  npm pack --silent --workspace "packages/$p" --pack-destination "$out" >/dev/null
done
ls "$out"
