//go:build tools

// Flux's source-controller and kustomize-controller, built by build.sh (with
// OSP_LOOP_FLUX=1) from this module. A module of its own: Flux v1.9.0 is built
// against k8s 0.36 / controller-runtime v0.24, Crossplane v2.3.0 (../go.mod)
// against k8s 0.35 / controller-runtime v0.23.
//
// The replace directives mirror the non-local ones of the controllers' own
// go.mod files (replace directives of dependencies are not applied). `go mod
// tidy` fails here on a test-only import of a dependency
// (github.com/fluxcd/pkg/helmtestserver v0.40.0 is not served); `go mod tidy -e`
// keeps go.mod/go.sum complete for the build.
package flux

import (
	_ "github.com/fluxcd/kustomize-controller"
	_ "github.com/fluxcd/source-controller"
)
