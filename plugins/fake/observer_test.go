package fake_test

import (
	"context"
	"testing"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

// TestObserverReadsDisk: a second instance on the same state dir sees what
// the first wrote, on every call, and runs no agents of its own.
func TestObserverReadsDisk(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	b, dir, _ := mustFake(t)
	obsRaw := fake.New()
	t.Cleanup(func() { obsRaw.Close() })
	obs := backendtest.Serve(t, obsRaw)
	mustConfigure(t, obs, dir)
	ctx := context.Background()

	if st := statusOf(t, obs, "ws-1"); st.State != sdk.RunStateMissing {
		t.Fatalf("observer before Start: %s, want missing", st.State)
	}
	if _, err := b.Start(ctx, startReq("ws-1", reg.URL)); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, obs, "ws-1"); st.State != sdk.RunStateRunning {
		t.Fatalf("observer after Start: %s, want running", st.State)
	}
	list, err := obs.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil || len(list.Workspaces) != 1 {
		t.Fatalf("observer ListManaged = %+v, %v; want ws-1", list, err)
	}
	waitFor(t, "register", func() bool { return reg.count(agentapi.PathRegister) == 1 })

	// The observer serves Start but runs no agent: ws-2 never registers
	// while ws-1 keeps heartbeating.
	if _, err := obs.Start(ctx, startReq("ws-2", reg.URL)); err != nil {
		t.Fatal(err)
	}
	hb := reg.count(agentapi.PathHeartbeat)
	waitFor(t, "more heartbeats", func() bool { return reg.count(agentapi.PathHeartbeat) >= hb+3 })
	if n := reg.count(agentapi.PathRegister); n != 1 {
		t.Fatalf("registers = %d, want 1 (the observer must run no agent)", n)
	}
}

// TestAgentsResumeAfterRestart: a new instance that takes the lock
// restarts the agents of workspaces recorded running.
func TestAgentsResumeAfterRestart(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	b, dir, raw := mustFake(t)
	if _, err := b.Start(context.Background(), startReq("ws-1", reg.URL)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "register", func() bool { return reg.count(agentapi.PathRegister) == 1 })
	raw.Close() // as the plugin process exiting: agents stop, lock released

	next := fake.New()
	t.Cleanup(func() { next.Close() })
	mustConfigure(t, backendtest.Serve(t, next), dir)
	waitFor(t, "the resumed agent to register", func() bool { return reg.count(agentapi.PathRegister) == 2 })
}
