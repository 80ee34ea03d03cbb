#!/usr/bin/env bash
# Builds osp-test-apiserver (a real kube-apiserver + embedded etcd for tests)
# into a cache directory outside the repository and prints the binary's path.
#
#   tests/kube/build.sh            # -> ${OSP_CACHE_DIR:-$HOME/.cache/osp}/bin/osp-test-apiserver
#   OSP_TEST_APISERVER_BIN=/x/y tests/kube/build.sh   # build to a chosen path
#
# Uses the normal Go module and build caches (GOMODCACHE, GOCACHE; both outside
# the repo by default), so a rebuild with unchanged sources takes seconds.
# All module versions are pinned by go.mod/go.sum (-mod=readonly).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_dir="${OSP_CACHE_DIR:-$HOME/.cache/osp}"
out="${OSP_TEST_APISERVER_BIN:-$cache_dir/bin/osp-test-apiserver}"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain (go 1.25.9 or newer) is required" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
cd "$here"
start=$(date +%s)
# The apiserver's /version comes from component-base's link-time variables.
kver="$(GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' k8s.io/kubernetes)"   # e.g. v1.35.4
kmaj="${kver#v}"; kmaj="${kmaj%%.*}"
kmin="${kver#v*.}"; kmin="${kmin%%.*}"
pkg=k8s.io/component-base/version
ldflags="-X $pkg.gitVersion=$kver -X $pkg.gitMajor=$kmaj -X $pkg.gitMinor=$kmin -X $pkg.gitTreeState=clean"
ldflags="$ldflags -X $pkg.gitCommit=module-$kver -X $pkg.buildDate=1970-01-01T00:00:00Z"
GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -buildvcs=false -ldflags "$ldflags" -o "$out.tmp.$$" .
mv -f "$out.tmp.$$" "$out"
echo "build.sh: built $out in $(( $(date +%s) - start ))s" >&2
echo "$out"
