package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
)

// TestPluginProcess launches the built binary as a real go-plugin process
// and checks its manifest and the not-configured answer over the wire.
func TestPluginProcess(t *testing.T) {
	dir := t.TempDir()
	if err := plugintest.Build(dir, "./cmd/molecule-backend-docker"); err != nil {
		t.Fatal(err)
	}
	_, b := plugintest.Launch(t, filepath.Join(dir, "molecule-backend-docker"))
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
