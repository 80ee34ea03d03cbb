package main

// --flux: Flux's source-controller and kustomize-controller (built by
// build.sh with OSP_LOOP_FLUX=1 from flux/go.mod) plus a loopback git server
// (github.com/fluxcd/pkg/gittestserver, in this process), wired together with
// a GitRepository and a Kustomization flux-system/osp that apply everything
// pushed to the repo's branch main.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Set by build.sh from flux/go.mod (-ldflags -X).
var (
	fluxSourceVersion    = "unknown"
	fluxKustomizeVersion = "unknown"
)

const (
	fluxNamespace = "flux-system"
	fluxName      = "osp"
	gitRepoPath   = "osp/gitops.git"
)

var (
	gitRepositoryGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

type fluxOptions struct {
	fixture  string        // initial content of the repo; default: a README only
	interval time.Duration // GitRepository poll interval
}

// gitRepo is where the repo Flux applies lives.
type gitRepo struct {
	url string // http://127.0.0.1:PORT/osp/gitops.git
	dir string // the bare repository the server serves, on disk
}

// startFlux returns the repo Flux applies (branch main).
func (s *supervisor) startFlux(ctx context.Context, lib string, o fluxOptions) (gitRepo, error) {
	fluxLib := filepath.Join(lib, "flux")
	scBin := filepath.Join(fluxLib, "source-controller")
	kcBin := filepath.Join(fluxLib, "kustomize-controller")
	for _, f := range []string{scBin, kcBin, filepath.Join(fluxLib, "crds")} {
		if _, err := os.Stat(f); err != nil {
			return gitRepo{}, fmt.Errorf("--flux: %w (run OSP_LOOP_FLUX=1 tests/loop/build.sh)", err)
		}
	}

	var gitURL, gitDir string
	if err := s.step("git server", func() error {
		fixture := o.fixture
		if fixture == "" {
			fixture = filepath.Join(s.tmp, "git-fixture")
			if err := os.MkdirAll(fixture, 0o755); err != nil {
				return err
			}
			readme := "Applied to the cluster by Flux (Kustomization flux-system/osp, path ./, prune).\n"
			if err := os.WriteFile(filepath.Join(fixture, "README.md"), []byte(readme), 0o644); err != nil {
				return err
			}
		}
		srv := gittestserver.NewGitServer(filepath.Join(s.tmp, "git")).AutoCreate()
		if err := srv.StartHTTP(); err != nil {
			return err
		}
		s.onStop(srv.StopHTTP)
		if err := srv.InitRepo(fixture, "main", gitRepoPath); err != nil {
			return err
		}
		gitURL = srv.HTTPAddress() + "/" + gitRepoPath
		gitDir = filepath.Join(srv.Root(), gitRepoPath)
		return nil
	}); err != nil {
		return gitRepo{}, err
	}

	if err := s.step("Flux CRDs Established", func() error {
		_, err := s.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fluxNamespace}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return s.ensureCRDs(ctx, filepath.Join(fluxLib, "crds"))
	}); err != nil {
		return gitRepo{}, err
	}

	env := append(os.Environ(), "KUBECONFIG="+s.kubeconfig, "RUNTIME_NAMESPACE="+fluxNamespace)
	common := []string{"--metrics-addr=127.0.0.1:0", "--health-addr=127.0.0.1:0", "--enable-leader-election=false"}
	if s.verbose {
		common = append(common, "--log-level=debug")
	}
	if err := s.step("source-controller", func() error {
		port, err := freePort()
		if err != nil {
			return err
		}
		storage := filepath.Join(s.tmp, "flux-storage")
		if err := os.MkdirAll(storage, 0o700); err != nil {
			return err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		args := append([]string{"--storage-path=" + storage, "--storage-addr=" + addr, "--storage-adv-addr=" + addr}, common...)
		return s.startChild("source-controller", scBin, args, env)
	}); err != nil {
		return gitRepo{}, err
	}
	if err := s.step("kustomize-controller", func() error {
		return s.startChild("kustomize-controller", kcBin, common, env)
	}); err != nil {
		return gitRepo{}, err
	}

	if err := s.step("GitRepository+Kustomization Ready", func() error {
		gr := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
			"metadata": map[string]any{"name": fluxName, "namespace": fluxNamespace},
			"spec": map[string]any{"url": gitURL, "interval": o.interval.String(),
				"ref": map[string]any{"branch": "main"}},
		}}
		ks := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
			"metadata": map[string]any{"name": fluxName, "namespace": fluxNamespace},
			"spec": map[string]any{"interval": "10m", "path": "./", "prune": true,
				"sourceRef": map[string]any{"kind": "GitRepository", "name": fluxName}},
		}}
		for _, x := range []struct {
			gvr schema.GroupVersionResource
			obj *unstructured.Unstructured
		}{{gitRepositoryGVR, gr}, {kustomizationGVR, ks}} {
			res := s.dyn.Resource(x.gvr).Namespace(fluxNamespace)
			_, err := res.Create(ctx, x.obj, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				cur, gerr := res.Get(ctx, fluxName, metav1.GetOptions{})
				if gerr != nil {
					return gerr
				}
				cur.Object["spec"] = x.obj.Object["spec"]
				_, err = res.Update(ctx, cur, metav1.UpdateOptions{})
			}
			if err != nil {
				return err
			}
		}
		for {
			u, err := s.dyn.Resource(kustomizationGVR).Namespace(fluxNamespace).Get(ctx, fluxName, metav1.GetOptions{})
			if err == nil && conditionTrue(u, "Ready") {
				return nil
			}
			if err := s.wait(ctx, 100*time.Millisecond); err != nil {
				if u != nil {
					c, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
					return fmt.Errorf("%w (Kustomization conditions: %v)", err, c)
				}
				return err
			}
		}
	}); err != nil {
		return gitRepo{}, err
	}
	return gitRepo{url: gitURL, dir: gitDir}, nil
}
