package docker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/plugins/docker"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

// TestOverGRPC drives the backend through the real plugin adapters
// (in-memory gRPC): every request, state and error is serialized.
func TestOverGRPC(t *testing.T) {
	b := backendtest.Serve(t, docker.New())
	ctx := context.Background()
	m, err := b.Manifest(ctx)
	if err != nil || m.Name != "docker" || !sdk.HasCapability(m.Capabilities, sdk.CapLogs) {
		t.Fatalf("Manifest = %+v, %v", m, err)
	}
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "x"}); !sdk.IsKind(err, sdk.KindConflict) {
		t.Fatalf("Stop before Configure = %v, want conflict", err)
	}
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{Config: map[string]string{"network": "bridge"}}); !sdk.IsKind(err, sdk.KindInvalid) {
		t.Fatalf("Configure bridge = %v, want invalid", err)
	} else if se := (*sdk.Error)(nil); !errors.As(err, &se) || len(se.Fields) != 1 || se.Fields[0].Path != "config.network" {
		t.Fatalf("Configure bridge fields = %v", err)
	}
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{Config: map[string]string{"network": "host"}}); !sdk.IsKind(err, sdk.KindInvalid) || !strings.Contains(err.Error(), "config.network") {
		t.Fatalf("Configure host = %v, want invalid at config.network", err)
	}
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{}); err != nil {
		t.Fatal(err)
	}
	id := newWorkspaceID(t)
	dir := mustAgentDir(t)
	if _, err := b.Start(ctx, startRequest(id, "", nil)); !sdk.IsKind(err, sdk.KindInvalid) || !strings.Contains(err.Error(), "agent_dir") {
		t.Fatalf("Start without an agent dir = %v, want invalid at agent_dir", err)
	}
	resp, err := b.Start(ctx, startRequest(id, dir, nil))
	if err != nil || resp.Endpoint != "unix:"+dir+"/agent.sock" || resp.Address != "" || resp.State.Version != 1 {
		t.Fatalf("Start = %+v, %v", resp, err)
	}
	st, err := b.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: id, State: resp.State}}})
	if err != nil || st.Statuses[0].State != sdk.RunStateRunning {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{Config: map[string]string{"host": "unix:///nonexistent.sock"}}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: id}}})
	if !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "unix:///nonexistent.sock") {
		t.Fatalf("Status on an unreachable daemon over gRPC = %v, want transient naming it", err)
	}
}
