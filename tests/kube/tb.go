package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// procTB implements ktesting.TB (the interface k8s.io/kubernetes' test
// helpers take instead of *testing.T) for a long-running process.
// Logs go to stderr (stdout is reserved for the READY line), cleanups
// run in LIFO order when the process shuts down, and a fatal error
// tears everything down and exits non-zero.
type procTB struct {
	mu       sync.Mutex
	verbose  bool
	tmp      string
	cleanups []func()
	failed   bool
	tmpSeq   int
	onFatal  func()
}

func (t *procTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// runCleanups runs registered cleanups, newest first.
func (t *procTB) runCleanups() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}

func (t *procTB) Error(args ...any) {
	t.Fail()
	logf("error: %s", fmt.Sprint(args...))
}

func (t *procTB) Errorf(format string, args ...any) {
	t.Fail()
	logf("error: "+format, args...)
}

func (t *procTB) Fail() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}

func (t *procTB) FailNow() {
	t.Fail()
	logf("fatal error, shutting down")
	if t.onFatal != nil {
		t.onFatal()
	}
	os.Exit(1)
}

func (t *procTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *procTB) Fatal(args ...any) {
	logf("fatal: %s", fmt.Sprint(args...))
	t.FailNow()
}

func (t *procTB) Fatalf(format string, args ...any) {
	logf("fatal: "+format, args...)
	t.FailNow()
}

func (t *procTB) Helper() {}

func (t *procTB) Log(args ...any) {
	if t.verbose {
		logf("%s", fmt.Sprint(args...))
	}
}

func (t *procTB) Logf(format string, args ...any) {
	if t.verbose {
		logf(format, args...)
	}
}

func (t *procTB) Name() string { return "osp-test-apiserver" }

func (t *procTB) Setenv(key, value string) { _ = os.Setenv(key, value) }

func (t *procTB) Skip(args ...any)                 { t.Log(args...) }
func (t *procTB) SkipNow()                         {}
func (t *procTB) Skipf(format string, args ...any) { t.Logf(format, args...) }
func (t *procTB) Skipped() bool                    { return false }

func (t *procTB) TempDir() string {
	t.mu.Lock()
	t.tmpSeq++
	n := t.tmpSeq
	t.mu.Unlock()
	d := filepath.Join(t.tmp, fmt.Sprintf("tb-%03d", n))
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	return d
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "osp-test-apiserver: "+format+"\n", args...)
}
