package bench_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/bench"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
)

// buildTo compiles pkg into dir.
func buildTo(tb testing.TB, dir, pkg string) string {
	tb.Helper()
	if err := plugintest.Build(dir, pkg); err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(dir, filepath.Base(pkg))
}

// startBare launches the baseline plugin with the same go-plugin settings
// the host uses (gRPC, AutoMTLS, SHA-256 SecureConfig).
func startBare(b *testing.B, path string) (bench.Pinger, func()) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	_, _ = io.Copy(h, f)
	f.Close()
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  bench.BareHandshake,
		Plugins:          plugin.PluginSet{"bare": &bench.BarePlugin{}},
		Cmd:              exec.Command(path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     &plugin.SecureConfig{Checksum: h.Sum(nil), Hash: sha256.New()},
		Logger:           hclog.NewNullLogger(),
	})
	rpc, err := c.Client()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rpc.Dispense("bare")
	if err != nil {
		b.Fatal(err)
	}
	return raw.(bench.Pinger), c.Kill
}

// BenchmarkDispatchOverhead measures one Status call for one workspace
// through the whole host path (dispatch -> pluginmgr handle -> pluginrpc ->
// plugin -> back) against a bare go-plugin unary call, interleaved in the
// same loop. Target (DESIGN.md section 9): p50 ratio <= 1.2.
func BenchmarkDispatchOverhead(b *testing.B) {
	dir := b.TempDir()
	plugins := filepath.Join(dir, "plugins")
	_ = os.MkdirAll(plugins, 0o755)
	bare := buildTo(b, dir, "./bench/testdata/bareplugin")
	buildTo(b, plugins, "./bench/testdata/molecule-backend-nop")
	if err := pluginmgr.WriteLock(plugins, filepath.Join(plugins, "plugins.lock")); err != nil {
		b.Fatal(err)
	}
	mgr := pluginmgr.New(pluginmgr.Config{Dir: plugins, DataDir: filepath.Join(dir, "data"), Logger: hclog.NewNullLogger()})
	defer mgr.Close()
	ctx := context.Background()
	if err := mgr.Start(ctx); err != nil {
		b.Fatal(err)
	}
	d := dispatch.New(mgr, slog.New(slog.DiscardHandler), dispatch.DefaultRetry)
	ping, kill := startBare(b, bare)
	defer kill()
	wss := []*host.Workspace{{ID: "00000000-0000-0000-0000-000000000001", Backend: "nop"}}
	payload := make([]byte, 64)

	var bareLat, dispLat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := ping.Ping(ctx, payload); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := d.Status(ctx, wss); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		bareLat, dispLat = append(bareLat, t1.Sub(t0)), append(dispLat, t2.Sub(t1))
	}
	b.StopTimer()
	pb, pd := p50(bareLat), p50(dispLat)
	b.ReportMetric(float64(pb.Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(pd.Microseconds()), "dispatch-p50-µs")
	ratio := float64(pd) / float64(pb)
	b.ReportMetric(ratio, "dispatch/bare-p50")
	if testing.Verbose() {
		fmt.Printf("dispatch p50 %v vs bare go-plugin p50 %v: ratio %.2f (target <= 1.2)\n", pd, pb, ratio)
	}
}

func p50(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
