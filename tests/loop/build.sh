#!/usr/bin/env bash
# Builds osp-loop (runs the real Crossplane core + function-patch-and-transform
# against a kubeconfig) and what it starts, all from Go modules, into a cache
# directory outside the repository; prints osp-loop's path.
#
#   tests/loop/build.sh                 # -> ${OSP_CACHE_DIR:-$HOME/.cache/osp}/bin/osp-loop
#   OSP_LOOP_FLUX=1 tests/loop/build.sh # also Flux's source-controller and kustomize-controller (osp-loop --flux)
#
# Layout (osp-loop finds lib/ relative to itself; --lib to choose):
#   bin/osp-loop
#   lib/osp-loop/crossplane                          github.com/crossplane/crossplane/v2/cmd/crossplane (go.mod)
#   lib/osp-loop/function-patch-and-transform        github.com/crossplane-contrib/function-patch-and-transform (function/go.mod)
#   lib/osp-loop/crds/*.yaml                         Crossplane's core CRDs (cluster/crds of its module)
#   lib/osp-loop/function-patch-and-transform.package.yaml   package/crossplane.yaml + package/input/*.yaml of its module
#   lib/osp-loop/flux/{source-controller,kustomize-controller}   (OSP_LOOP_FLUX=1) from flux/go.mod
#   lib/osp-loop/flux/crds/*.yaml                    their CRDs (config/crd/bases of their modules)
#
# Uses the normal Go module and build caches; versions pinned by go.mod/go.sum
# (-mod=readonly), so an unchanged tree rebuilds from the build cache.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_dir="${OSP_CACHE_DIR:-$HOME/.cache/osp}"
bin="$cache_dir/bin"
lib="$cache_dir/lib/osp-loop"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain (go 1.25.11 or newer) is required" >&2
  exit 1
fi
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
mkdir -p "$bin" "$lib"
start=$(date +%s)

cd "$here"
xp_mod=github.com/crossplane/crossplane/v2
xp_ver="$(go list -m -f '{{.Version}}' "$xp_mod")"
xp_dir="$(go mod download -json "$xp_mod@$xp_ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
t0=$(date +%s)
# Crossplane's version stamp (crossplane-runtime pkg/version), as its release build
# sets it: `crossplane --version`, and package `crossplane.version` constraints.
go build -buildvcs=false -ldflags "-X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$xp_ver" \
  -o "$lib/crossplane.tmp.$$" "$xp_mod/cmd/crossplane"
mv -f "$lib/crossplane.tmp.$$" "$lib/crossplane"
echo "build.sh: crossplane $xp_ver in $(( $(date +%s) - t0 ))s" >&2

rm -rf "$lib/crds.tmp.$$" && mkdir -p "$lib/crds.tmp.$$"
cp "$xp_dir"/cluster/crds/*.yaml "$lib/crds.tmp.$$/"
chmod u+w "$lib/crds.tmp.$$"/*
rm -rf "$lib/crds" && mv "$lib/crds.tmp.$$" "$lib/crds"

cd "$here/function"
fn_mod=github.com/crossplane-contrib/function-patch-and-transform
fn_ver="$(go list -m -f '{{.Version}}' "$fn_mod")"
fn_dir="$(go mod download -json "$fn_mod@$fn_ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
t0=$(date +%s)
go build -buildvcs=false -o "$lib/function-patch-and-transform.tmp.$$" "$fn_mod"
mv -f "$lib/function-patch-and-transform.tmp.$$" "$lib/function-patch-and-transform"
echo "build.sh: function-patch-and-transform $fn_ver in $(( $(date +%s) - t0 ))s" >&2
{
  cat "$fn_dir/package/crossplane.yaml"
  for f in "$fn_dir"/package/input/*.yaml; do
    head -1 "$f" | grep -q '^---' || echo "---"
    cat "$f"
  done
} > "$lib/function-patch-and-transform.package.yaml"

flux_ldflags=""
if [ "${OSP_LOOP_FLUX:-0}" = 1 ]; then
  cd "$here/flux"
  mkdir -p "$lib/flux"
  rm -rf "$lib/flux/crds.tmp.$$" && mkdir -p "$lib/flux/crds.tmp.$$"
  for c in source-controller kustomize-controller; do
    mod=github.com/fluxcd/$c
    ver="$(go list -m -f '{{.Version}}' "$mod")"
    dir="$(go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    t0=$(date +%s)
    go build -buildvcs=false -o "$lib/flux/$c.tmp.$$" "$mod"
    mv -f "$lib/flux/$c.tmp.$$" "$lib/flux/$c"
    echo "build.sh: $c $ver in $(( $(date +%s) - t0 ))s" >&2
    cp "$dir"/config/crd/bases/*.yaml "$lib/flux/crds.tmp.$$/"
    case $c in
      source-controller) flux_ldflags="$flux_ldflags -X main.fluxSourceVersion=$ver" ;;
      kustomize-controller) flux_ldflags="$flux_ldflags -X main.fluxKustomizeVersion=$ver" ;;
    esac
  done
  chmod u+w "$lib/flux/crds.tmp.$$"/*
  rm -rf "$lib/flux/crds" && mv "$lib/flux/crds.tmp.$$" "$lib/flux/crds"
fi

cd "$here"
t0=$(date +%s)
go build -buildvcs=false \
  -ldflags "-X main.crossplaneVersion=$xp_ver -X main.functionVersion=$fn_ver$flux_ldflags" \
  -o "$bin/osp-loop.tmp.$$" .
mv -f "$bin/osp-loop.tmp.$$" "$bin/osp-loop"
echo "build.sh: osp-loop in $(( $(date +%s) - t0 ))s; all in $(( $(date +%s) - start ))s" >&2
echo "$bin/osp-loop"
