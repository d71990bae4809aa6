package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
)

// bin is the plugin binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) { plugintest.RunWithBinary(m, "./cmd/molecule-backend-docker", &bin) }

// TestPluginProcess launches the built binary as a real go-plugin process
// and checks its manifest and the not-configured answer over the wire.
func TestPluginProcess(t *testing.T) {
	_, b := plugintest.Launch(t, bin)
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
	for _, f := range m.Config {
		if f.Name == "network" && f.Default != "none" {
			t.Errorf("network default = %q, want none", f.Default)
		}
	}
}

// TestHostNetworkRefused: the plugin process refuses host networking and a
// root user, naming the field and why.
func TestHostNetworkRefused(t *testing.T) {
	_, b := plugintest.Launch(t, bin)
	tests := map[string]struct{ key, value, field, says string }{
		"host network": {"network", "host", "config.network", "loopback"},
		"root user":    {"user", "0:0", "config.user", "root"},
	}
	for name, tc := range tests {
		_, err := b.Configure(context.Background(), &sdk.ConfigureRequest{Config: map[string]string{tc.key: tc.value}})
		var se *sdk.Error
		if !errors.As(err, &se) || se.Kind != sdk.KindInvalid || len(se.Fields) != 1 || se.Fields[0].Path != tc.field || !strings.Contains(se.Fields[0].Message, tc.says) {
			t.Errorf("%s: Configure = %v, want invalid at %s saying %q", name, err, tc.field, tc.says)
		}
	}
}
