//go:build tools

// crossplane, which osp-loop starts, is built by build.sh from this module, so
// its version is the one pinned in go.mod/go.sum (function-patch-and-transform:
// see function/go.mod).
package main

import _ "github.com/crossplane/crossplane/v2/cmd/crossplane"
