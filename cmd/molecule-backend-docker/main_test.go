package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// TestPluginProcess launches the built binary as a real go-plugin process
// and checks its manifest and the not-configured answer over the wire.
func TestPluginProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "molecule-backend-docker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn}),
	})
	t.Cleanup(c.Kill)
	b, err := pluginrpc.Dispense(c)
	if err != nil {
		t.Fatalf("Dispense: %v", err)
	}
	m, err := b.Manifest(context.Background())
	if err != nil || m.Name != "docker" || len(m.Features) != len(sdk.FeatureNeeds) {
		t.Fatalf("Manifest = %+v, %v", m, err)
	}
	if !sdk.HasCapability(m.Capabilities, sdk.CapLogs) || sdk.HasCapability(m.Capabilities, sdk.CapFiles) {
		t.Fatalf("capabilities = %v, want core + logs", m.Capabilities)
	}
	if _, err := b.Status(context.Background(), &sdk.StatusRequest{}); !sdk.IsKind(err, sdk.KindConflict) {
		t.Fatalf("Status before Configure = %v, want conflict", err)
	}
}
