// Package hosttest starts real molecule-host processes for tests: it builds
// the host and plugin binaries once per test binary, lays out a plugin
// directory with its lock file, runs the host with an embedded Postgres in
// a temp data dir, and offers a small JSON client for the HTTP API.
//
// It is a test helper: only _test files import it.
package hosttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/internal/plugintest"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Build compiles molecule-host and the named plugin commands (e.g.
// "molecule-backend-fake", or a package path for test plugins) once per test
// binary and returns the directory holding them.
func Build(tb testing.TB, plugins ...string) string {
	tb.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "molecule-bin-")
		if buildErr != nil {
			return
		}
		// Others may execute what is built here: run as root,
		// molecule-cp-local's instances run the agent as nobody.
		if buildErr = os.Chmod(buildDir, 0o755); buildErr != nil {
			return
		}
		buildErr = goBuild(buildDir, "./cmd/molecule-host")
	})
	if buildErr != nil {
		tb.Fatalf("building molecule-host: %v", buildErr)
	}
	for _, p := range plugins {
		pkg := p
		if !strings.Contains(p, "/") {
			pkg = "./cmd/" + p
		}
		if err := buildPlugin(buildDir, pkg); err != nil {
			tb.Fatalf("building %s: %v", p, err)
		}
	}
	return buildDir
}

// BuildCmd compiles ./cmd/<name> next to molecule-host (once per test
// binary) and returns its path.
func BuildCmd(tb testing.TB, name string) string {
	tb.Helper()
	dir := Build(tb)
	v, _ := pluginBuilds.LoadOrStore("cmd:"+name, &onceErr{})
	o := v.(*onceErr)
	o.once.Do(func() { o.err = goBuild(dir, "./cmd/"+name) })
	if o.err != nil {
		tb.Fatalf("building %s: %v", name, o.err)
	}
	return filepath.Join(dir, name)
}

var pluginBuilds sync.Map // pkg -> *sync.Once-guarded error

type onceErr struct {
	once sync.Once
	err  error
}

func buildPlugin(dir, pkg string) error {
	v, _ := pluginBuilds.LoadOrStore(pkg, &onceErr{})
	o := v.(*onceErr)
	o.once.Do(func() { o.err = goBuild(filepath.Join(dir, "plugins"), pkg) })
	return o.err
}

func goBuild(out, pkg string) error { return plugintest.Build(out, pkg) }

// ModuleRoot returns the directory of this module's go.mod.
func ModuleRoot() (string, error) { return plugintest.ModuleRoot() }

// Options configure a host.
type Options struct {
	// Plugins are the plugin binary names (in Build's plugins dir) to load.
	Plugins []string
	// BackendConfig is passed as MOLECULE_BACKEND_CONFIG.
	BackendConfig map[string]map[string]string
	// DataDir reuses a data dir (to restart a host); empty makes a new one.
	DataDir string
	// Env adds or overrides environment variables.
	Env map[string]string
}

// Host is a running molecule-host process.
type Host struct {
	URL       string
	Token     string
	DataDir   string
	PluginDir string
	cmd       *exec.Cmd
	done      chan struct{}
	stderr    *plugintest.Buffer
	tb        testing.TB
}

// Start runs a host and waits until it serves. The host is stopped (and
// its output logged on failure) at cleanup.
func Start(tb testing.TB, opts Options) *Host {
	tb.Helper()
	bin := Build(tb)
	h := &Host{Token: "test-admin-token", DataDir: opts.DataDir, tb: tb, done: make(chan struct{}), stderr: &plugintest.Buffer{}}
	if h.DataDir == "" {
		h.DataDir = shortTempDir(tb)
	}
	h.PluginDir = filepath.Join(h.DataDir, "plugins")
	must(tb, os.MkdirAll(h.PluginDir, 0o755))
	for _, p := range opts.Plugins {
		must(tb, copyFile(filepath.Join(bin, "plugins", p), filepath.Join(h.PluginDir, p)))
	}
	if b, err := exec.Command(filepath.Join(bin, "molecule-host"), "plugins", "lock", "--dir", h.PluginDir).CombinedOutput(); err != nil {
		tb.Fatalf("plugins lock: %v\n%s", err, b)
	}
	bc, _ := json.Marshal(opts.BackendConfig)
	must(tb, os.WriteFile(filepath.Join(h.DataDir, "backends.json"), bc, 0o600))
	ready := filepath.Join(h.DataDir, "ready.json")
	_ = os.Remove(ready)
	env := map[string]string{
		"MOLECULE_DATA_DIR": h.DataDir, "MOLECULE_LISTEN": "127.0.0.1:0", "MOLECULE_PLUGIN_DIR": h.PluginDir,
		"MOLECULE_ADMIN_TOKEN": h.Token, "MOLECULE_READY_FILE": ready,
		"MOLECULE_BACKEND_CONFIG": filepath.Join(h.DataDir, "backends.json"),
		"MOLECULE_LIVENESS_TTL":   "3s", "MOLECULE_HEARTBEAT_INTERVAL": "500ms", "MOLECULE_PROVISION_TIMEOUT": "60s",
		"MOLECULE_OPERATION_RESCUE": "3s", "MOLECULE_LOG_LEVEL": "debug",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	h.cmd = exec.Command(filepath.Join(bin, "molecule-host"), "serve")
	h.cmd.Env = os.Environ()
	for k, v := range env {
		h.cmd.Env = append(h.cmd.Env, k+"="+v)
	}
	h.cmd.Stdout, h.cmd.Stderr = h.stderr, h.stderr
	must(tb, h.cmd.Start())
	go func() { _ = h.cmd.Wait(); close(h.done) }()
	tb.Cleanup(func() {
		h.Stop()
		if tb.Failed() {
			tb.Logf("molecule-host output:\n%s", h.stderr.String())
		}
	})
	h.URL = h.waitReady(ready)
	return h
}

func (h *Host) waitReady(path string) string {
	h.tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			var r struct{ URL string }
			if json.Unmarshal(b, &r) == nil && r.URL != "" {
				return r.URL
			}
		}
		select {
		case <-h.done:
			h.tb.Fatalf("molecule-host exited before serving:\n%s", h.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.tb.Fatalf("molecule-host did not serve within 90s:\n%s", h.stderr.String())
	return ""
}

// Output returns what the host printed so far.
func (h *Host) Output() string { return h.stderr.String() }

// Kill sends SIGKILL and waits for the process to end.
func (h *Host) Kill() {
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

// Stop sends SIGTERM and waits (SIGKILL after 30s).
func (h *Host) Stop() {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.Kill()
	}
}

// Do sends a JSON request with the admin token and decodes the JSON answer
// into out (when non-nil). It returns the HTTP status.
func (h *Host) Do(method, path string, body, out any) int {
	h.tb.Helper()
	return h.DoToken(h.Token, method, path, body, out)
}

// DoToken is Do with another bearer token ("" sends none).
func (h *Host) DoToken(token, method, path string, body, out any) int {
	h.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		must(h.tb, err)
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.URL+path, rd)
	must(h.tb, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.tb.Fatalf("%s %s: status %d, decoding %q: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// Eventually polls cond every 50ms until it returns true or timeout passes,
// then fails the test with the message from the last call.
func Eventually(tb testing.TB, timeout time.Duration, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var msg string
	for {
		var ok bool
		if ok, msg = cond(); ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond) // polling interval of a deadline-bounded wait, not synchronization
	}
}

func shortTempDir(tb testing.TB) string {
	dir, err := os.MkdirTemp("", "mh-")
	must(tb, err)
	_ = os.Chmod(dir, 0o755)
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
