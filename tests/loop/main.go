// Command osp-loop runs the real Crossplane core (its own `crossplane` binary,
// built from the Go module) and the composition function
// function-patch-and-transform against a Kubernetes API server given by a
// kubeconfig — in tests, osp-test-apiserver started with --no-xrd-controller.
//
//	osp-loop --kubeconfig K [--info F] [--log-dir D] [--verbose] [--lib DIR] [--flux [--git-fixture DIR]]
//
// What it does, in order (each step's time is logged to stderr):
//
//  1. namespace crossplane-system; Crossplane's core CRDs (from the module's
//     cluster/crds) created where missing and waited for until Established;
//  2. `crossplane core init` (core CRDs from the module's cluster/crds, Lock,
//     default DeploymentRuntimeConfig, the CA secret crossplane-root-ca and the
//     client certificate secret crossplane-tls-client), retried while the
//     freshly created CRDs are not yet discoverable;
//  3. client certificates written for `core start`, a server certificate for
//     127.0.0.1 signed by Crossplane's CA for the function;
//  4. function-patch-and-transform on 127.0.0.1:PORT (mTLS);
//  5. the function package (package/crossplane.yaml + input CRD from its
//     module) put into Crossplane's package cache under a digest reference, so
//     no registry is asked;
//  6. `crossplane core start --package-runtime=External` (no Deployments);
//  7. Function function-patch-and-transform applied; this program acts as the
//     external package runtime: it sets the active FunctionRevision's
//     status.endpoint, status.tlsServerSecretName and RuntimeHealthy=True, and
//     keeps doing so for new revisions;
//  8. once the Function is Healthy: info file, then `READY ...` on stdout.
//
// With --flux, side by side with the steps above (flux.go): a loopback git
// server, Flux's CRDs, source-controller and kustomize-controller, and
// GitRepository + Kustomization flux-system/osp applying the repo's branch
// main; READY waits for both, and the line then ends with git=<repo URL>.
//
// SIGTERM/SIGINT (or the parent going away): all children get SIGTERM, the
// temp dir is removed, exit 0. A child that dies on its own: exit 1.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/afero"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/crossplane/crossplane-runtime/v2/pkg/xpkg"
)

// Set by build.sh from go.mod (-ldflags -X).
var (
	crossplaneVersion = "unknown"
	functionVersion   = "unknown"
)

const (
	xpNamespace      = "crossplane-system"
	caSecret         = "crossplane-root-ca" // initializer.RootCACertSecretName
	clientSecret     = "crossplane-tls-client"
	functionName     = "function-patch-and-transform"
	functionSource   = "xpkg.osp.test/crossplane-contrib/function-patch-and-transform"
	functionTLSName  = "function-patch-and-transform-tls-server"
	labelPackage     = "pkg.crossplane.io/package"
	conditionHealthy = "RuntimeHealthy"
)

var (
	functionGVR    = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "functions"}
	functionRevGVR = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "functionrevisions"}
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "osp-loop: "+format+"\n", args...)
}

func main() { os.Exit(run()) }

type info struct {
	FunctionEndpoint  string `json:"function_endpoint"`
	FunctionName      string `json:"function_name"`
	FunctionVersion   string `json:"function_version"`
	CrossplaneVersion string `json:"crossplane_version"`
	CrossplanePID     int    `json:"crossplane_pid"`
	FunctionPID       int    `json:"function_pid"`
	LogDir            string `json:"log_dir"`
	PID               int    `json:"pid"`
	// --flux only
	GitURL                 string `json:"git_url,omitempty"`
	GitDir                 string `json:"git_dir,omitempty"` // the bare repo the git server serves (osp's local publish target can write to it)
	FluxSourceVersion      string `json:"flux_source_controller_version,omitempty"`
	FluxKustomizeVersion   string `json:"flux_kustomize_controller_version,omitempty"`
	SourceControllerPID    int    `json:"source_controller_pid,omitempty"`
	KustomizeControllerPID int    `json:"kustomize_controller_pid,omitempty"`
}

func run() int {
	start := time.Now()
	exe, _ := os.Executable()
	defLib := filepath.Join(filepath.Dir(exe), "..", "lib", "osp-loop")
	var (
		kubeconfig     = flag.String("kubeconfig", "", "kubeconfig of the API server (its current context is used; needs cluster-admin)")
		infoPath       = flag.String("info", "", "write a JSON file (function endpoint, versions, pids) to this path")
		logDir         = flag.String("log-dir", "", "keep crossplane's and the function's logs in this dir (default: a temp dir removed at exit)")
		verbose        = flag.Bool("verbose", false, "pass the children's logs through to stderr (and run them with --debug)")
		lib            = flag.String("lib", defLib, "dir with the crossplane and function-patch-and-transform binaries, crds/ and function-patch-and-transform.package.yaml (build.sh fills it)")
		exitWithParent = flag.Bool("exit-with-parent", true, "shut down when the parent process goes away")
		readyTimeout   = flag.Duration("timeout", 120*time.Second, "give up start-up after this long")
		withFlux       = flag.Bool("flux", false, "also run Flux source-controller + kustomize-controller and a loopback git server whose branch main Flux applies (needs OSP_LOOP_FLUX=1 build.sh)")
		gitFixture     = flag.String("git-fixture", "", "with --flux: initial content of the git repo (a directory; default: a README only)")
		gitInterval    = flag.Duration("git-interval", 2*time.Second, "with --flux: the GitRepository's poll interval")
	)
	flag.Parse()
	if *kubeconfig == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: osp-loop --kubeconfig K [--info F] [--log-dir D] [--verbose] [--lib DIR]")
		return 2
	}
	if !*verbose {
		log.SetOutput(io.Discard) // the git server (gitkit) logs every request with the standard logger
	}
	kc, err := filepath.Abs(*kubeconfig)
	if err != nil {
		logf("%v", err)
		return 1
	}

	tmp, err := os.MkdirTemp("", "osp-loop-")
	if err != nil {
		logf("temp dir: %v", err)
		return 1
	}
	logs := filepath.Join(tmp, "logs")
	if *logDir != "" {
		if logs, err = filepath.Abs(*logDir); err != nil {
			logf("--log-dir: %v", err)
			return 1
		}
	}
	if err := os.MkdirAll(logs, 0o755); err != nil {
		logf("log dir: %v", err)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), *readyTimeout)
	defer cancel()
	sup := &supervisor{tmp: tmp, logs: logs, verbose: *verbose, kubeconfig: kc, exited: make(chan string, 4)}

	// Stop on SIGTERM/SIGINT, and (by default) when the parent disappears.
	stopReq := make(chan string, 1)
	var stopOnce sync.Once
	requestStop := func(why string) { stopOnce.Do(func() { stopReq <- why; cancel() }) }
	sigCh := make(chan os.Signal, 2)
	signal.Notify(sigCh, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range sigCh {
			requestStop("signal " + s.String())
		}
	}()
	if *exitWithParent {
		ppid := os.Getppid()
		go func() {
			for {
				time.Sleep(500 * time.Millisecond)
				if os.Getppid() != ppid {
					requestStop("parent process exited")
					return
				}
			}
		}()
	}
	finish := func(code int) int {
		sup.stopChildren()
		os.RemoveAll(tmp)
		logf("stopped (exit %d) after %s", code, time.Since(start).Round(time.Millisecond))
		return code
	}

	// Crossplane and (with --flux) Flux start side by side; the first failure
	// cancels the other and is the one reported.
	var inf *info
	err = sup.connect()
	if err == nil {
		sctx, scancel := context.WithCancel(ctx)
		var first error
		var firstOnce sync.Once
		fail := func(e error) {
			if e != nil {
				firstOnce.Do(func() { first = e; scancel() })
			}
		}
		var wg sync.WaitGroup
		var git gitRepo
		if *withFlux {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ferr error
				git, ferr = sup.startFlux(sctx, *lib, fluxOptions{fixture: *gitFixture, interval: *gitInterval})
				fail(ferr)
			}()
		}
		var xerr error
		inf, xerr = sup.startUp(sctx, *lib)
		fail(xerr)
		wg.Wait()
		scancel()
		err = first
		if err == nil && *withFlux {
			inf.GitURL, inf.GitDir = git.url, git.dir
			inf.FluxSourceVersion, inf.FluxKustomizeVersion = fluxSourceVersion, fluxKustomizeVersion
			inf.SourceControllerPID, inf.KustomizeControllerPID = sup.pid("source-controller"), sup.pid("kustomize-controller")
		}
	}
	if err != nil {
		select {
		case why := <-stopReq:
			logf("start-up interrupted (%s)", why)
			return finish(0)
		default:
		}
		logf("start-up failed: %v", err)
		sup.dumpLogs()
		return finish(1)
	}
	inf.LogDir = logs
	if *logDir == "" {
		inf.LogDir = ""
	}
	inf.PID = os.Getpid()
	if *infoPath != "" {
		data, _ := json.MarshalIndent(inf, "", "  ")
		if err := writeFileAtomic(*infoPath, append(data, '\n')); err != nil {
			logf("--info: %v", err)
			return finish(1)
		}
	}
	logf("ready in %s: crossplane %s, %s %s at %s", time.Since(start).Round(time.Millisecond),
		crossplaneVersion, functionName, functionVersion, inf.FunctionEndpoint)
	ready := fmt.Sprintf("READY crossplane=%s %s=%s", crossplaneVersion, functionName, inf.FunctionEndpoint)
	if inf.GitURL != "" {
		logf("flux: source-controller %s, kustomize-controller %s, git %s", fluxSourceVersion, fluxKustomizeVersion, inf.GitURL)
		ready += " git=" + inf.GitURL
	}
	fmt.Fprintln(os.Stdout, ready)
	_ = os.Stdout.Sync()

	// Keep acting as the function's runtime (new revisions get the endpoint too).
	keepCtx, keepCancel := context.WithCancel(context.Background())
	defer keepCancel()
	go func() {
		for keepCtx.Err() == nil {
			if _, err := sup.markRevisions(keepCtx); err != nil && keepCtx.Err() == nil && *verbose {
				logf("runtime: %v", err)
			}
			select {
			case <-keepCtx.Done():
			case <-time.After(time.Second):
			}
		}
	}()

	select {
	case why := <-stopReq:
		logf("stopping (%s)", why)
		keepCancel()
		return finish(0)
	case what := <-sup.exited:
		logf("%s exited on its own", what)
		keepCancel()
		sup.dumpLogs()
		return finish(1)
	}
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

type supervisor struct {
	tmp, logs, kubeconfig string
	verbose               bool
	kube                  kubernetes.Interface
	dyn                   dynamic.Interface
	endpoint              string
	mu                    sync.Mutex
	children              []*child
	stopping              bool
	stops                 []func()
	exited                chan string
}

func (s *supervisor) step(name string, f func() error) error {
	t0 := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	logf("%-34s %s", name, time.Since(t0).Round(time.Millisecond))
	return nil
}

func (s *supervisor) connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if s.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	s.dyn, err = dynamic.NewForConfig(cfg)
	return err
}

func (s *supervisor) startUp(ctx context.Context, lib string) (*info, error) {
	xpBin := filepath.Join(lib, "crossplane")
	fnBin := filepath.Join(lib, "function-patch-and-transform")
	for _, f := range []string{xpBin, fnBin, filepath.Join(lib, "crds"), filepath.Join(lib, "function-patch-and-transform.package.yaml")} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("--lib: %w (run tests/loop/build.sh)", err)
		}
	}
	env := append(os.Environ(), "KUBECONFIG="+s.kubeconfig, "POD_NAMESPACE="+xpNamespace)
	clientDir := filepath.Join(s.tmp, "tls", "client")
	fnDir := filepath.Join(s.tmp, "tls", "function")
	xpkgDir := filepath.Join(s.tmp, "xpkg")
	for _, d := range []string{clientDir, fnDir, xpkgDir, filepath.Join(s.tmp, "xfn")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}

	if err := s.step("namespace "+xpNamespace, func() error {
		_, err := s.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: xpNamespace}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}); err != nil {
		return nil, err
	}

	// Crossplane's core CRDs first, waited for until Established: then core
	// init's own CRD step finds them in place and its client can map the kinds
	// it creates next (Lock, ...). Without this its first run fails with
	// `no matches for kind "Lock" in version "pkg.crossplane.io/v1beta1"`
	// and only a second run passes (~8 s instead of ~4 s).
	if err := s.step("core CRDs Established", func() error {
		return s.ensureCRDs(ctx, filepath.Join(lib, "crds"))
	}); err != nil {
		return nil, err
	}

	// core init. Kong spells the flags --cr-ds-path / --tlsca-secret-name, so
	// the environment variables are used. The first run can fail with "no
	// matches for kind Lock" (its client has not seen the CRDs it just
	// created); a second run passes.
	if err := s.step("crossplane core init", func() error {
		initEnv := append(env, "CRDS_PATH="+filepath.Join(lib, "crds"),
			"TLS_CA_SECRET_NAME="+caSecret, "TLS_CLIENT_SECRET_NAME="+clientSecret)
		var last error
		for attempt := 1; attempt <= 5; attempt++ {
			logPath := filepath.Join(s.logs, fmt.Sprintf("crossplane-init-%d.log", attempt))
			out, err := os.Create(logPath)
			if err != nil {
				return err
			}
			cmd := exec.CommandContext(ctx, xpBin, "core", "init", "--enable-webhooks=false")
			cmd.Env = initEnv
			cmd.Stdout, cmd.Stderr = s.sink(out), s.sink(out)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			last = cmd.Run()
			out.Close()
			if last == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			logf("crossplane core init attempt %d failed (%v): %s", attempt, last, lastLine(logPath))
			time.Sleep(500 * time.Millisecond)
		}
		return last
	}); err != nil {
		return nil, err
	}

	if err := s.step("certificates", func() error {
		cs, err := s.kube.CoreV1().Secrets(xpNamespace).Get(ctx, clientSecret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
			if len(cs.Data[k]) == 0 {
				return fmt.Errorf("secret %s has no %s", clientSecret, k)
			}
			if err := os.WriteFile(filepath.Join(clientDir, k), cs.Data[k], 0o600); err != nil {
				return err
			}
		}
		ca, err := s.kube.CoreV1().Secrets(xpNamespace).Get(ctx, caSecret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		certPEM, keyPEM, err := signServerCert(ca.Data["tls.crt"], ca.Data["tls.key"])
		if err != nil {
			return err
		}
		files := map[string][]byte{"ca.crt": ca.Data["tls.crt"], "tls.crt": certPEM, "tls.key": keyPEM}
		for k, v := range files {
			if err := os.WriteFile(filepath.Join(fnDir, k), v, 0o600); err != nil {
				return err
			}
		}
		// The revision establisher wants status.tlsServerSecretName -> a
		// Secret with tls.crt (a runtime's webhook CA bundle).
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: functionTLSName, Namespace: xpNamespace}, Data: files}
		_, err = s.kube.CoreV1().Secrets(xpNamespace).Create(ctx, sec, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			_, err = s.kube.CoreV1().Secrets(xpNamespace).Update(ctx, sec, metav1.UpdateOptions{})
		}
		return err
	}); err != nil {
		return nil, err
	}

	if err := s.step(functionName, func() error {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.endpoint = fmt.Sprintf("127.0.0.1:%d", port)
		args := []string{"--address=" + s.endpoint, "--tls-certs-dir=" + fnDir}
		if s.verbose {
			args = append(args, "--debug")
		}
		if err := s.startChild(functionName, fnBin, args, os.Environ()); err != nil {
			return err
		}
		return waitTCP(ctx, s.endpoint)
	}); err != nil {
		return nil, err
	}

	var ref string
	if err := s.step("function package into xpkg cache", func() error {
		content, err := os.ReadFile(filepath.Join(lib, "function-patch-and-transform.package.yaml"))
		if err != nil {
			return err
		}
		digest := fmt.Sprintf("sha256:%x", sha256.Sum256(content))
		ref = functionSource + "@" + digest
		return xpkg.NewFsPackageCache(xpkgDir, afero.NewOsFs()).Store(xpkg.FriendlyID(functionSource, digest), io.NopCloser(bytes.NewReader(content)))
	}); err != nil {
		return nil, err
	}

	if err := s.step("crossplane core start", func() error {
		args := []string{"core", "start",
			"--enable-webhooks=false",
			"--package-runtime=External",
			"--tls-client-certs-dir=" + clientDir,
			"--xpkg-cache-dir=" + xpkgDir,
			"--xfn-cache-dir=" + filepath.Join(s.tmp, "xfn"),
			"--metrics-port=0", "--health-probe-port=0",
		}
		if s.verbose {
			args = append([]string{"--debug"}, args...)
		}
		return s.startChild("crossplane", xpBin, args, env)
	}); err != nil {
		return nil, err
	}

	if err := s.step("Function applied", func() error {
		fn := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "pkg.crossplane.io/v1", "kind": "Function",
			"metadata": map[string]any{"name": functionName},
			"spec":     map[string]any{"package": ref, "packagePullPolicy": "IfNotPresent"},
		}}
		_, err := s.dyn.Resource(functionGVR).Create(ctx, fn, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			cur, gerr := s.dyn.Resource(functionGVR).Get(ctx, functionName, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			_ = unstructured.SetNestedField(cur.Object, ref, "spec", "package")
			_, err = s.dyn.Resource(functionGVR).Update(ctx, cur, metav1.UpdateOptions{})
		}
		return err
	}); err != nil {
		return nil, err
	}

	if err := s.step("FunctionRevision runtime status", func() error {
		for {
			n, err := s.markRevisions(ctx)
			if err == nil && n > 0 {
				return nil
			}
			if err := s.wait(ctx, 100*time.Millisecond); err != nil {
				return err
			}
		}
	}); err != nil {
		return nil, err
	}

	if err := s.step("Function Healthy", func() error {
		for {
			fn, err := s.dyn.Resource(functionGVR).Get(ctx, functionName, metav1.GetOptions{})
			if err == nil && conditionTrue(fn, "Healthy") && conditionTrue(fn, "Installed") {
				return nil
			}
			if err := s.wait(ctx, 100*time.Millisecond); err != nil {
				if fn != nil {
					c, _, _ := unstructured.NestedSlice(fn.Object, "status", "conditions")
					return fmt.Errorf("%w (Function conditions: %v)", err, c)
				}
				return err
			}
		}
	}); err != nil {
		return nil, err
	}

	inf := &info{FunctionEndpoint: s.endpoint, FunctionName: functionName, FunctionVersion: functionVersion,
		CrossplaneVersion: crossplaneVersion, CrossplanePID: s.pid("crossplane"), FunctionPID: s.pid(functionName)}
	return inf, nil
}

func (s *supervisor) pid(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.children {
		if c.name == name {
			return c.cmd.Process.Pid
		}
	}
	return 0
}

// onStop registers f to run after the children are stopped.
func (s *supervisor) onStop(f func()) {
	s.mu.Lock()
	s.stops = append(s.stops, f)
	s.mu.Unlock()
}

// ensureCRDs creates the CRDs in dir that do not exist yet (existing ones are
// left to core init, which patches them) and waits until all are Established.
func (s *supervisor) ensureCRDs(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("%s: %w", f, err)
			}
			if u.GetKind() != "CustomResourceDefinition" {
				continue
			}
			names = append(names, u.GetName())
			if _, err := s.dyn.Resource(crdGVR).Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("CRD %s: %w", u.GetName(), err)
			}
		}
	}
	for _, n := range names {
		for {
			u, err := s.dyn.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err == nil && conditionTrue(u, "Established") {
				break
			}
			if err := s.wait(ctx, 50*time.Millisecond); err != nil {
				return fmt.Errorf("CRD %s not Established: %w", n, err)
			}
		}
	}
	return nil
}

// wait sleeps d, or returns early when the context ends or a child died.
func (s *supervisor) wait(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case what := <-s.exited:
		s.exited <- what
		return fmt.Errorf("%s exited", what)
	case <-time.After(d):
		return nil
	}
}

// markRevisions plays the package runtime for our Function: every Active
// FunctionRevision gets status.endpoint, status.tlsServerSecretName and
// RuntimeHealthy=True (what internal/controller/pkg/runtime would write for a
// Deployment). Returns how many active revisions are in that state.
func (s *supervisor) markRevisions(ctx context.Context) (int, error) {
	l, err := s.dyn.Resource(functionRevGVR).List(ctx, metav1.ListOptions{LabelSelector: labelPackage + "=" + functionName})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range l.Items {
		r := &l.Items[i]
		if st, _, _ := unstructured.NestedString(r.Object, "spec", "desiredState"); st != "Active" {
			continue
		}
		ep, _, _ := unstructured.NestedString(r.Object, "status", "endpoint")
		sn, _, _ := unstructured.NestedString(r.Object, "status", "tlsServerSecretName")
		if ep == s.endpoint && sn == functionTLSName && conditionTrue(r, conditionHealthy) {
			n++
			continue
		}
		_ = unstructured.SetNestedField(r.Object, s.endpoint, "status", "endpoint")
		_ = unstructured.SetNestedField(r.Object, functionTLSName, "status", "tlsServerSecretName")
		conds, _, _ := unstructured.NestedSlice(r.Object, "status", "conditions")
		out := make([]any, 0, len(conds)+1)
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == conditionHealthy {
				continue
			}
			out = append(out, c)
		}
		out = append(out, map[string]any{
			"type": conditionHealthy, "status": "True", "reason": "HealthyPackageRevision",
			"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			"observedGeneration": r.GetGeneration(),
		})
		_ = unstructured.SetNestedSlice(r.Object, out, "status", "conditions")
		if _, err := s.dyn.Resource(functionRevGVR).UpdateStatus(ctx, r, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				continue // the revision reconciler wrote first; next round
			}
			return n, err
		}
		n++
	}
	return n, nil
}

func conditionTrue(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m["status"] == "True"
		}
	}
	return false
}

// sink: the children's output goes to their log file, and with --verbose also
// to our stderr (never to our stdout, which carries only the READY line).
func (s *supervisor) sink(f *os.File) io.Writer {
	if s.verbose {
		return io.MultiWriter(f, os.Stderr)
	}
	return f
}

func (s *supervisor) startChild(name, bin string, args, env []string) error {
	logPath := filepath.Join(s.logs, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = s.sink(out), s.sink(out)
	// The child dies with us even if we are killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	s.mu.Lock()
	s.children = append(s.children, c)
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		out.Close()
		close(c.done)
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if !stopping {
			s.exited <- fmt.Sprintf("%s (%v)", name, err)
		}
	}()
	return nil
}

// stopChildren: SIGTERM to all, 10 s grace, then SIGKILL.
func (s *supervisor) stopChildren() {
	s.mu.Lock()
	s.stopping = true
	children := append([]*child(nil), s.children...)
	s.mu.Unlock()
	for _, c := range children {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(10 * time.Second)
	for _, c := range children {
		select {
		case <-c.done:
		case <-deadline:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	s.mu.Lock()
	stops := s.stops
	s.stops = nil
	s.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
}

func (s *supervisor) dumpLogs() {
	if s.verbose {
		return
	}
	files, _ := filepath.Glob(filepath.Join(s.logs, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(os.Stderr, "---- %s (tail)\n%s\n", filepath.Base(f), data)
	}
}

func lastLine(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return lines[len(lines)-1]
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitTCP(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not listening: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// signServerCert makes a key and a certificate for 127.0.0.1 / localhost,
// signed by Crossplane's CA (crossplane-root-ca: PKCS#1 RSA key), usable as
// server (the function) and client certificate.
func signServerCert(caCertPEM, caKeyPEM []byte) (certPEM, keyPEM []byte, err error) {
	cb, _ := pem.Decode(caCertPEM)
	kb, _ := pem.Decode(caKeyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("secret " + caSecret + ": no PEM tls.crt/tls.key")
	}
	caCert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	var caKey any
	if caKey, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
		if caKey, err = x509.ParsePKCS8PrivateKey(kb.Bytes); err != nil {
			return nil, nil, fmt.Errorf("CA key: %w", err)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: functionName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
