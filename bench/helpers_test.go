package bench_test

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/bench"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
)

const nopPkg = "./bench/testdata/molecule-backend-nop"
const barePkg = "./bench/testdata/bareplugin"

// mustNopPluginDir builds the nop backend into dir/plugins with its lock
// file and returns that plugin directory.
func mustNopPluginDir(tb testing.TB, dir string) string {
	tb.Helper()
	plugins := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		tb.Fatal(err)
	}
	buildTo(tb, plugins, nopPkg)
	if err := pluginmgr.WriteLock(plugins, filepath.Join(plugins, "plugins.lock")); err != nil {
		tb.Fatal(err)
	}
	return plugins
}

// newNopManager returns a plugin manager over the nop plugin directory,
// configuring the nop backend with cfg. It starts nothing.
func newNopManager(plugins, dataDir string, cfg map[string]string) *pluginmgr.Manager {
	return pluginmgr.New(pluginmgr.Config{Dir: plugins, DataDir: dataDir, Logger: hclog.NewNullLogger(),
		Backends: map[string]map[string]string{"nop": cfg}})
}

// mustStartNop runs the nop backend under a plugin manager (stopped at
// cleanup) and returns a dispatcher over it.
func mustStartNop(b *testing.B, dir string, cfg map[string]string) *dispatch.Dispatcher {
	b.Helper()
	mgr := newNopManager(mustNopPluginDir(b, dir), filepath.Join(dir, "data"), cfg)
	b.Cleanup(mgr.Close)
	if err := mgr.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return newDispatcher(mgr)
}

func newDispatcher(mgr *pluginmgr.Manager) *dispatch.Dispatcher {
	return dispatch.New(mgr, slog.New(slog.DiscardHandler), dispatch.DefaultRetry)
}

// mustSHA256 digests the file at path, as a lock file would record it.
func mustSHA256(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		tb.Fatal(err)
	}
	return h.Sum(nil)
}

// launchBare starts the baseline plugin with the host's go-plugin settings
// (gRPC, AutoMTLS, SHA-256 SecureConfig) and dispenses its client; the
// caller kills the returned client.
func launchBare(path string, sum []byte) (*plugin.Client, bench.Pinger, error) {
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  bench.BareHandshake,
		Plugins:          plugin.PluginSet{"bare": &bench.BarePlugin{}},
		Cmd:              exec.Command(path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		Logger:           hclog.NewNullLogger(),
	})
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		return nil, nil, err
	}
	raw, err := rpc.Dispense("bare")
	if err != nil {
		c.Kill()
		return nil, nil, err
	}
	return c, raw.(bench.Pinger), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
