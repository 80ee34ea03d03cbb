//go:build tools

// function-patch-and-transform is built from this module (build.sh), with the
// versions its own go.mod pins (crossplane-runtime v2.1.0, k8s 0.34): it does
// not compile against crossplane-runtime v2.3.0, which Crossplane v2.3.0 in
// ../go.mod needs (apis/common/v1 is gone there).
package function

import _ "github.com/crossplane-contrib/function-patch-and-transform"
