// Command osp-test-apiserver runs a real kube-apiserver (k8s.io/kubernetes,
// the same code path as Kubernetes' own integration tests) with an embedded
// etcd on loopback, installs Crossplane's CRDs, and plays Crossplane's
// definition controller: for every CompositeResourceDefinition it creates
// the XR and claim CRDs with Crossplane's own xcrd package and marks the XRD
// Established/Offered.
//
// Interface (used by the Rust test fixture):
//
//	osp-test-apiserver --kubeconfig K --info I --crds DIR [--xrd F]... [--no-xrd-controller]
//
// --no-xrd-controller leaves XRDs to a real Crossplane (tests/loop).
//
// It prints exactly one line "READY <server-url>" on stdout when everything
// is installed; logs go to stderr. SIGTERM/SIGINT stop it cleanly (exit 0).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

const (
	adminUser  = "admin"
	adminToken = "osp-admin-token"
	aliceUser  = "alice"
	aliceToken = "osp-alice-token"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type info struct {
	Server     string `json:"server"`
	CAFile     string `json:"ca_file"`
	CAPEM      string `json:"ca_pem"`
	AdminUser  string `json:"admin_user"`
	AdminToken string `json:"admin_token"`
	AliceUser  string `json:"alice_user"`
	AliceToken string `json:"alice_token"`
	Version    string `json:"version"`
	Kubeconfig string `json:"kubeconfig,omitempty"`
	PID        int    `json:"pid"`
}

func main() {
	os.Exit(run())
}

func run() int {
	start := time.Now()
	var (
		kubeconfigPath = flag.String("kubeconfig", "", "write a kubeconfig (contexts admin [current] and alice) to this path")
		infoPath       = flag.String("info", "", "write a JSON file with server URL, CA, tokens and version to this path")
		crdsDir        = flag.String("crds", "", "directory of CRD manifests (Crossplane's) to install and wait for")
		verbose        = flag.Bool("verbose", false, "log the apiserver's and etcd's own output to stderr")
		exitWithParent = flag.Bool("exit-with-parent", true, "shut down when the parent process goes away")
		noXRDCtrl      = flag.Bool("no-xrd-controller", false, "do not run the stand-in XRD controller (when real Crossplane runs against this server); --xrd files are then applied without waiting")
		xrdFiles       stringList
	)
	flag.Var(&xrdFiles, "xrd", "XRD manifest file to apply before READY (repeatable; any other kinds in it are applied too)")
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %v\n", flag.Args())
		return 2
	}
	if !*verbose {
		// Only errors from the apiserver's klog output.
		_ = klogFlags.Set("v", "0")
		_ = klogFlags.Set("stderrthreshold", "ERROR")
		_ = klogFlags.Set("logtostderr", "false")
		_ = klogFlags.Set("alsologtostderr", "false")
		klog.SetOutput(discard{})
	}

	tmp, err := os.MkdirTemp("", "osp-test-apiserver-")
	if err != nil {
		logf("temp dir: %v", err)
		return 1
	}
	// The apiserver test helper makes its own temp dirs (os.MkdirTemp("", ...)):
	// keep them inside ours so that removing tmp removes everything.
	_ = os.Setenv("TMPDIR", tmp)
	tb := &procTB{tmp: tmp, verbose: *verbose}
	ctx, cancel := context.WithCancel(context.Background())
	var ctrlDone sync.WaitGroup
	var shutdownOnce sync.Once
	shutdown := func() {
		shutdownOnce.Do(func() {
			cancel()
			ctrlDone.Wait()
			tb.runCleanups()
			os.RemoveAll(tmp)
		})
	}
	tb.onFatal = shutdown
	var stopping atomic.Bool // a stop was requested before READY
	fail := func(format string, args ...any) int {
		if stopping.Load() {
			logf("start-up interrupted: "+format, args...)
			shutdown()
			return 0
		}
		logf(format, args...)
		shutdown()
		return 1
	}

	// Stop on SIGTERM/SIGINT, and (by default) when the parent disappears.
	stopReq := make(chan struct{})
	var stopOnce sync.Once
	var stopWhy string
	requestStop := func(why string) {
		stopOnce.Do(func() {
			stopWhy = why
			close(stopReq)
		})
	}
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
	// A stop request during start-up: leave at once. Everything this process
	// wrote lives under tmp (TMPDIR points there), so removing it is the
	// clean-up; the apiserver helper cannot be interrupted mid-start (it
	// polls /healthz for up to a minute), so there is no waiting for it.
	// Known leftover: the helper writes one /tmp/insecure_test_key* file
	// (hard-coded /tmp) for the span of its start-up.
	startupDone := make(chan struct{})
	go func() {
		select {
		case <-startupDone:
			return
		case <-stopReq:
		}
		stopping.Store(true)
		logf("stopping during start-up (%s)", stopWhy)
		cancel()
		os.RemoveAll(tmp)
		os.Exit(0)
	}()

	certs, err := makeServingCerts(tmp)
	if err != nil {
		return fail("certificates: %v", err)
	}
	tokenFile := filepath.Join(tmp, "tokens.csv")
	tokens := fmt.Sprintf("%s,%s,uid-admin,\"system:masters\"\n%s,%s,uid-alice,\"team-a\"\n",
		adminToken, adminUser, aliceToken, aliceUser)
	if err := os.WriteFile(tokenFile, []byte(tokens), 0o600); err != nil {
		return fail("token file: %v", err)
	}

	etcd, etcdURL, etcdLog, err := startEtcd(filepath.Join(tmp, "etcd"), *verbose)
	if err != nil {
		return fail("%v", err)
	}
	tb.Cleanup(func() {
		if !*verbose {
			etcdLog.SetLevel(zapcore.FatalLevel) // closing listeners logs errors: not news
		}
		etcd.Close()
		<-etcd.Server.StopNotify()
	})
	logf("etcd ready at %s (%s)", etcdURL, time.Since(start).Round(time.Millisecond))

	storageConfig := storagebackend.NewDefaultConfig(path.Join("/", "osp-test", "registry"), nil)
	storageConfig.Transport.ServerList = []string{etcdURL}
	apiFlags := []string{
		"--authorization-mode=Node,RBAC",
		"--token-auth-file=" + tokenFile,
		"--tls-cert-file=" + certs.CertFile,
		"--tls-private-key-file=" + certs.KeyFile,
		"--anonymous-auth=false",
		"--advertise-address=127.0.0.1",
		// No kubernetes.default endpoints: a loopback address is not a valid endpoint.
		"--endpoint-reconciler-type=none",
	}
	ts, err := kubeapiservertesting.StartTestServer(tb, &kubeapiservertesting.TestServerInstanceOptions{}, apiFlags, storageConfig)
	if err != nil {
		return fail("starting kube-apiserver: %v", err)
	}
	tb.Cleanup(ts.TearDownFn)
	serverURL := fmt.Sprintf("https://127.0.0.1:%d", ts.ServerOpts.SecureServing.BindPort)
	logf("kube-apiserver healthy at %s (%s)", serverURL, time.Since(start).Round(time.Millisecond))

	// All set-up goes through the public endpoint as the admin token user.
	adminCfg := &rest.Config{
		Host:            serverURL,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.CAPEM},
		QPS:             1000,
		Burst:           2000,
		UserAgent:       "osp-test-apiserver",
	}
	kc, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		return fail("client: %v", err)
	}
	ext, err := apiextclient.NewForConfig(adminCfg)
	if err != nil {
		return fail("client: %v", err)
	}
	dyn, err := dynamic.NewForConfig(adminCfg)
	if err != nil {
		return fail("client: %v", err)
	}
	version, err := kc.Discovery().ServerVersion()
	if err != nil {
		return fail("server version: %v", err)
	}

	if err := setupTenants(ctx, kc); err != nil {
		return fail("namespaces/RBAC: %v", err)
	}

	ap := newApplier(dyn, kc.Discovery())
	if *crdsDir != "" {
		files, err := manifestFiles(*crdsDir)
		if err != nil {
			return fail("--crds: %v", err)
		}
		if len(files) == 0 {
			return fail("--crds %s: no .yaml/.yml/.json files", *crdsDir)
		}
		var crdNames []string
		for _, f := range files {
			objs, err := readManifests(f)
			if err != nil {
				return fail("--crds: %v", err)
			}
			for _, o := range objs {
				if _, err := ap.apply(ctx, o); err != nil {
					return fail("--crds %s: %v", f, err)
				}
				if o.GetKind() == "CustomResourceDefinition" {
					crdNames = append(crdNames, o.GetName())
				}
			}
		}
		if err := waitCRDsEstablished(ctx, ext, crdNames, 60*time.Second); err != nil {
			return fail("%v", err)
		}
		logf("installed %d CRDs from %s (%s)", len(crdNames), *crdsDir, time.Since(start).Round(time.Millisecond))
	}

	if !*noXRDCtrl {
		ctrl := newXRDController(dyn, ext)
		ctrlDone.Add(1)
		go func() {
			defer ctrlDone.Done()
			ctrl.run(ctx, 100*time.Millisecond)
		}()
	}

	for _, f := range xrdFiles {
		objs, err := readManifests(f)
		if err != nil {
			return fail("--xrd: %v", err)
		}
		for _, o := range objs {
			t0 := time.Now()
			applied, err := ap.apply(ctx, o)
			if err != nil {
				return fail("--xrd %s: %v", f, err)
			}
			if *verbose {
				logf("applied %s %s in %s", o.GetKind(), o.GetName(), time.Since(t0).Round(time.Millisecond))
			}
			if !*noXRDCtrl && o.GroupVersionKind().Group == xrdGVR.Group && o.GetKind() == "CompositeResourceDefinition" {
				if err := waitXRDHandled(ctx, dyn, applied.GetName(), 60*time.Second); err != nil {
					return fail("--xrd %s: %v", f, err)
				}
			}
		}
	}

	if *kubeconfigPath != "" {
		if err := writeKubeconfig(*kubeconfigPath, serverURL, certs.CAPEM); err != nil {
			return fail("--kubeconfig: %v", err)
		}
	}
	if *infoPath != "" {
		inf := info{
			Server: serverURL, CAFile: certs.CAFile, CAPEM: string(certs.CAPEM),
			AdminUser: adminUser, AdminToken: adminToken, AliceUser: aliceUser, AliceToken: aliceToken,
			Version: serverVersion(version.GitVersion), Kubeconfig: absOrEmpty(*kubeconfigPath), PID: os.Getpid(),
		}
		data, _ := json.MarshalIndent(inf, "", "  ")
		if err := writeFileAtomic(*infoPath, append(data, '\n')); err != nil {
			return fail("--info: %v", err)
		}
	}

	close(startupDone)
	logf("ready in %s, Kubernetes %s", time.Since(start).Round(time.Millisecond), serverVersion(version.GitVersion))
	fmt.Fprintf(os.Stdout, "READY %s\n", serverURL)
	_ = os.Stdout.Sync()

	<-stopReq
	logf("shutting down (%s)", stopWhy)
	shutdown()
	return 0
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// setupTenants creates namespaces team-a and team-b and gives alice full
// access to every namespaced resource in team-a only.
func setupTenants(ctx context.Context, kc kubernetes.Interface) error {
	for _, ns := range []string{"team-a", "team-b"} {
		_, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "osp-test-claims", Namespace: "team-a"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"*"},
			Resources: []string{"*"},
			Verbs:     []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
		}},
	}
	if _, err := kc.RbacV1().Roles("team-a").Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "osp-test-claims-alice", Namespace: "team-a"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: aliceUser}},
	}
	if _, err := kc.RbacV1().RoleBindings("team-a").Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func writeKubeconfig(p, server string, caPEM []byte) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["osp-test"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[adminUser] = &clientcmdapi.AuthInfo{Token: adminToken}
	cfg.AuthInfos[aliceUser] = &clientcmdapi.AuthInfo{Token: aliceToken}
	cfg.Contexts["admin"] = &clientcmdapi.Context{Cluster: "osp-test", AuthInfo: adminUser, Namespace: "default"}
	cfg.Contexts["alice"] = &clientcmdapi.Context{Cluster: "osp-test", AuthInfo: aliceUser, Namespace: "team-a"}
	cfg.CurrentContext = "admin"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(p, data)
}

func writeFileAtomic(p string, data []byte) error {
	if dir := filepath.Dir(p); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// serverVersion is the server's /version gitVersion. A binary built without
// build.sh's -ldflags reports "v0.0.0-master+$Format:%H$" there; then the
// version of the k8s.io/kubernetes module compiled in is the truth.
func serverVersion(git string) string {
	if !strings.HasPrefix(git, "v0.0.0") {
		return git
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "k8s.io/kubernetes" {
				return m.Version
			}
		}
	}
	return git
}

func absOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
