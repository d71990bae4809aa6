// Package plugintest is the test helper every package uses to build this
// module's binaries and to launch a backend plugin the way a host does
// (gRPC only, AutoMTLS, SHA-256 verified), so tests talk to real plugin
// processes. Only _test files import it.
package plugintest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// ModuleRoot returns the directory of this module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles pkgs (import paths, or paths relative to the module root
// such as "./cmd/molecule-backend-fake") into dir, statically.
func Build(dir string, pkgs ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// MainBuild builds pkgs into a new temp dir for a TestMain, exiting the
// test binary loudly when the build fails. It returns the dir and a
// function that removes it.
func MainBuild(pkgs ...string) (string, func()) {
	dir, err := os.MkdirTemp("", "plugintest-")
	if err == nil {
		err = Build(dir, pkgs...)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugintest:", err)
		os.Exit(1)
	}
	return dir, func() { _ = os.RemoveAll(dir) }
}

// Launch starts the plugin binary at path as a host does and returns the
// go-plugin client and the backend; the process is killed at cleanup.
func Launch(tb testing.TB, path string) (*plugin.Client, sdk.Backend) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		tb.Fatal(err)
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(),
		Cmd:              exec.Command(path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     &plugin.SecureConfig{Checksum: h.Sum(nil), Hash: sha256.New()},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "host", Output: io.Discard}),
	})
	tb.Cleanup(c.Kill)
	b, err := pluginrpc.Dispense(c)
	if err != nil {
		tb.Fatalf("launching %s: %v", path, err)
	}
	return c, b
}

// RunWithBinary is a TestMain body for packages that need one of this
// module's binaries: it builds pkg, stores the binary's path in *path, runs
// the tests, removes the build and exits with their code.
func RunWithBinary(m *testing.M, pkg string, path *string) {
	dir, cleanup := MainBuild(pkg)
	*path = filepath.Join(dir, filepath.Base(pkg))
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Buffer is an io.Writer safe for concurrent writes (a log sink for
// processes and goroutines under test).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// PostJSON posts body to url and returns the answer's body; a transport
// error fails the test.
func PostJSON(tb testing.TB, url, body string) string {
	tb.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out)
}

// TraversableTempDir returns a new directory in the system's temp dir
// (removed at cleanup) that other users may search (mode 0711), for tests
// that run processes as unprivileged users: a test's own TempDir sits in a
// directory only its owner may search.
func TraversableTempDir(tb testing.TB, prefix string) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err == nil {
		err = os.Chmod(dir, 0o711)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
