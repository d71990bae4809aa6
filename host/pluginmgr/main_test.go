package pluginmgr_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Binaries built once by TestMain.
var (
	fakeBin    string // the real fake backend plugin
	hostsimBin string // testdata/hostsim
	rogueBin   string // sdk/pluginrpc/testdata/rogue: misbehaves as its rogue.json says
)

func TestMain(m *testing.M) {
	dir, cleanup := plugintest.MainBuild("./cmd/molecule-backend-fake", "./host/pluginmgr/testdata/hostsim", "./sdk/pluginrpc/testdata/rogue")
	fakeBin = filepath.Join(dir, "molecule-backend-fake")
	hostsimBin = filepath.Join(dir, "hostsim")
	rogueBin = filepath.Join(dir, "rogue")
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// pluginEnv is one test's plugin directory, data directory and fault file.
type pluginEnv struct {
	dir, data, faults string
}

// mustPluginDir makes a plugin directory holding a copy of the fake plugin
// under each given file name, locked.
func mustPluginDir(tb testing.TB, names ...string) pluginEnv {
	tb.Helper()
	env := pluginEnv{dir: tb.TempDir(), data: tb.TempDir()}
	env.faults = filepath.Join(env.data, "faults.json")
	body, err := os.ReadFile(fakeBin)
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range names {
		mustWrite(tb, filepath.Join(env.dir, n), string(body), 0o755)
	}
	if err := pluginmgr.WriteLock(env.dir, ""); err != nil {
		tb.Fatal(err)
	}
	return env
}

// addRogue adds a copy of the rogue plugin as file, behaving as behaviour
// (rogue.json in its data directory), and locks the directory again.
func (env pluginEnv) addRogue(tb testing.TB, file, behaviour string) {
	tb.Helper()
	body, err := os.ReadFile(rogueBin)
	if err != nil {
		tb.Fatal(err)
	}
	mustWrite(tb, filepath.Join(env.dir, file), string(body), 0o755)
	if err := pluginmgr.WriteLock(env.dir, ""); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(env.data, file), 0o700); err != nil {
		tb.Fatal(err)
	}
	env.behave(tb, file, behaviour)
}

// behave rewrites the rogue.json of the rogue plugin file.
func (env pluginEnv) behave(tb testing.TB, file, behaviour string) {
	tb.Helper()
	mustWrite(tb, filepath.Join(env.data, file, "rogue.json"), behaviour, 0o644)
}

// config returns a Config for env that points the fake at env's fault file.
func (env pluginEnv) config(logger hclog.Logger) pluginmgr.Config {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Warn, Output: os.Stderr})
	}
	return pluginmgr.Config{
		Dir:      env.dir,
		DataDir:  env.data,
		Logger:   logger,
		Backends: map[string]map[string]string{"fake": {"fault_file": env.faults}},
	}
}

func mustStart(tb testing.TB, cfg pluginmgr.Config) *pluginmgr.Manager {
	tb.Helper()
	m := pluginmgr.New(cfg)
	tb.Cleanup(m.Close)
	if err := m.Start(context.Background()); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	return m
}

func mustBackend(tb testing.TB, m *pluginmgr.Manager, name string) (sdk.Backend, *sdk.Manifest) {
	tb.Helper()
	b, man, err := m.Backend(name)
	if err != nil {
		tb.Fatalf("Backend(%q): %v", name, err)
	}
	return b, man
}

func infoOf(tb testing.TB, m *pluginmgr.Manager, name string) pluginmgr.Info {
	tb.Helper()
	for _, in := range m.Infos() {
		if in.Name == name {
			return in
		}
	}
	tb.Fatalf("no Info named %q in %+v", name, m.Infos())
	return pluginmgr.Info{}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronization
	}
}

func statusCall(ctx context.Context, b sdk.Backend) error {
	_, err := b.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: "ws-1"}}})
	return err
}

func ctxTimeout(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func isKind(err error, k sdk.Kind) bool {
	var se *sdk.Error
	return errors.As(err, &se) && se.Kind == k
}

func contains(s string, subs ...string) error {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return fmt.Errorf("%q does not contain %q", s, sub)
		}
	}
	return nil
}

func itoa(n int) string { return fmt.Sprint(n) }
