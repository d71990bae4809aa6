package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestNewIsolates checks each New gets its own migrated database.
func TestNewIsolates(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := storetest.New(t), storetest.New(t)
	ws := &host.Workspace{Name: "only-in-a", Backend: "fake"}
	if err := a.CreateWorkspace(ctx, ws, &host.Operation{}); err != nil {
		t.Fatalf("CreateWorkspace: %v", err)
	}
	inA, err := a.ListWorkspaces(ctx, store.ListFilter{})
	if err != nil || len(inA) != 1 {
		t.Fatalf("store a lists %d workspaces (%v), want 1", len(inA), err)
	}
	inB, err := b.ListWorkspaces(ctx, store.ListFilter{})
	if err != nil || len(inB) != 0 {
		t.Fatalf("store b lists %d workspaces (%v), want 0", len(inB), err)
	}
}
