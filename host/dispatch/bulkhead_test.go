package dispatch_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

// multi serves several backends by name; missing names answer with the
// registry's error.
type multi struct {
	backends map[string]sdk.Backend
	missing  map[string]error
}

func (r *multi) Backend(name string) (sdk.Backend, *sdk.Manifest, error) {
	if err, ok := r.missing[name]; ok {
		return nil, nil, err
	}
	b, ok := r.backends[name]
	if !ok {
		return nil, nil, sdk.Errorf(sdk.KindNotFound, "backend", "no backend named %q", name)
	}
	return b, &sdk.Manifest{Name: name, ProtocolVersion: sdk.ProtocolVersion, Capabilities: sdk.CoreCapabilities}, nil
}

// rogue answers Status with a fixed reply, whatever it was asked, or
// blocks until release is closed, ignoring its context.
type rogue struct {
	placer
	reply   []sdk.WorkspaceStatus
	release chan struct{}
}

func (r *rogue) Status(context.Context, *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	if r.release != nil {
		<-r.release
	}
	return &sdk.StatusResponse{Statuses: r.reply}, nil
}

// mustFake serves a configured fake over in-memory gRPC with the given
// fault rules.
func mustFake(t *testing.T, rules string) sdk.Backend {
	t.Helper()
	r, state := mustRegistry(t)
	if rules != "" {
		faults(t, state, rules)
	}
	return r.b
}

const hangStatus = `[{"verb":"status","action":"hang","count":-1}]`

// TestStatusDeadline: a plugin that does not answer Status, whether it
// honours cancellation (the fake's hang) or not, costs the caller the
// Status deadline and no more, reports its own workspaces unknown with a
// transient error naming it, and does not delay another backend's answer.
func TestStatusDeadline(t *testing.T) {
	const limit = 300 * time.Millisecond
	tests := map[string]func(t *testing.T) sdk.Backend{
		"hang honouring cancellation": func(t *testing.T) sdk.Backend { return mustFake(t, hangStatus) },
		"hang ignoring cancellation": func(t *testing.T) sdk.Backend {
			r := &rogue{release: make(chan struct{})}
			t.Cleanup(func() { close(r.release) })
			return r
		},
	}
	for name, hung := range tests {
		t.Run(name, func(t *testing.T) {
			reg := &multi{backends: map[string]sdk.Backend{"hung": hung(t), "fake": mustFake(t, "")}}
			d := dispatch.New(reg, slog.New(slog.DiscardHandler), dispatch.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond}).
				WithTimeouts(dispatch.Timeouts{Status: limit})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			states, err := d.Status(ctx, []*host.Workspace{{ID: "w-hung", Backend: "hung"}, {ID: "w-fine", Backend: "fake"}})
			if took := time.Since(start); took > limit+5*time.Second {
				t.Fatalf("Status took %s with a hung backend, want about its deadline %s", took, limit)
			}
			if !sdk.IsKind(err, sdk.KindTransient) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"hung" did not answer status`) {
				t.Errorf("Status error = %v, want transient, naming the hung backend, wrapping DeadlineExceeded", err)
			}
			if got := states["w-hung"]; got.State != sdk.RunStateUnknown {
				t.Errorf("hung backend's workspace = %+v, want unknown", got)
			}
			if got := states["w-fine"]; got.State != sdk.RunStateMissing {
				t.Errorf("other backend's workspace = %+v, want the fake's answer (missing)", got)
			}
		})
	}
}

// TestStartStopDestroyDeadline: the long verbs are bounded too.
func TestStartStopDestroyDeadline(t *testing.T) {
	const limit = 200 * time.Millisecond
	reg := &multi{backends: map[string]sdk.Backend{"fake": mustFake(t,
		`[{"verb":"start","action":"hang","count":-1},{"verb":"stop","action":"hang","count":-1},{"verb":"destroy","action":"hang","count":-1}]`)}}
	d := dispatch.New(reg, slog.New(slog.DiscardHandler), dispatch.DefaultRetry).
		WithTimeouts(dispatch.Timeouts{Start: limit, Stop: limit, Destroy: limit})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := &host.Workspace{ID: "7b0b7a52-5f3c-4a55-9c55-2c1c7c9d7a10", Backend: "fake"}
	calls := map[string]func() error{
		"start":   func() error { _, err := d.Start(ctx, dispatch.StartSpec{Workspace: ws}); return err },
		"stop":    func() error { _, err := d.Stop(ctx, ws); return err },
		"destroy": func() error { return d.Destroy(ctx, ws) },
	}
	for verb, call := range calls {
		start := time.Now()
		err := call()
		if took := time.Since(start); took > limit+5*time.Second {
			t.Errorf("%s took %s, want about %s", verb, took, limit)
		}
		if !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "did not answer "+verb+" within") {
			t.Errorf("%s: %v, want a transient timeout naming the verb", verb, err)
		}
	}
}

// TestStatusOnlyAskedIDs: a backend's reply may change only the workspaces
// the host asked that backend about, and a run state outside the sdk's set
// is unknown (left as it is), not "not running".
func TestStatusOnlyAskedIDs(t *testing.T) {
	reg := &multi{backends: map[string]sdk.Backend{
		"rogue": &rogue{reply: []sdk.WorkspaceStatus{
			{WorkspaceID: "w-other", State: sdk.RunStateStopped},
			{WorkspaceID: "w-stranger", State: sdk.RunStateMissing},
			{WorkspaceID: "w-rogue", State: "exploded"},
			{WorkspaceID: "w-rogue2", State: sdk.RunStateRunning},
			{WorkspaceID: "w-rogue2", State: sdk.RunStateStopped},
		}},
		"fine": &rogue{reply: []sdk.WorkspaceStatus{{WorkspaceID: "w-other", State: sdk.RunStateRunning}}},
	}}
	d := dispatch.New(reg, slog.New(slog.DiscardHandler), dispatch.DefaultRetry)
	for _, wss := range [][]*host.Workspace{
		{{ID: "w-rogue", Backend: "rogue"}, {ID: "w-rogue2", Backend: "rogue"}},
		{{ID: "w-rogue", Backend: "rogue"}, {ID: "w-rogue2", Backend: "rogue"}, {ID: "w-other", Backend: "fine"}},
	} {
		states, err := d.Status(context.Background(), wss)
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != len(wss) {
			t.Errorf("Status over %d workspaces returned %d states: %+v", len(wss), len(states), states)
		}
		if _, ok := states["w-stranger"]; ok {
			t.Errorf("a workspace no backend was asked about got a state: %+v", states["w-stranger"])
		}
		if st, ok := states["w-other"]; ok && st.State != sdk.RunStateRunning {
			t.Errorf("another backend's workspace = %+v, want only its own backend's answer (running)", st)
		}
		if st := states["w-rogue"]; st.State != sdk.RunStateUnknown || !strings.Contains(st.Detail, "invalid run state") {
			t.Errorf("invalid run state became %+v, want unknown with the reason", st)
		}
		if st := states["w-rogue2"]; st.State != sdk.RunStateRunning {
			t.Errorf("duplicate report = %+v, want the first (running)", st)
		}
	}
}

// TestStopFallback: only a backend that holds nothing for the workspace
// makes Stop a no-op; an unavailable backend, or a missing one that placed
// the workspace, fails the stop (transient, retried) with the reason.
func TestStopFallback(t *testing.T) {
	unconfigured := backendtest.Serve(t, fake.New())
	reg := &multi{
		backends: map[string]sdk.Backend{"unconfigured": unconfigured},
		missing: map[string]error{
			"flaky": sdk.Errorf(sdk.KindTransient, "backend", "backend \"flaky\" is unavailable: crashed 5 times"),
		},
	}
	d := dispatch.New(reg, slog.New(slog.DiscardHandler), dispatch.RetryPolicy{Attempts: 1})
	const id = "7b0b7a52-5f3c-4a55-9c55-2c1c7c9d7a10"
	state := []byte("container abc")
	tests := map[string]struct {
		ws   host.Workspace
		noop bool
	}{
		"no such backend, never placed":     {host.Workspace{ID: id, Backend: "gone"}, true},
		"no such backend, placed":           {host.Workspace{ID: id, Backend: "gone", BackendState: state, BackendStateVersion: 1}, false},
		"no such backend, address only":     {host.Workspace{ID: id, Backend: "gone", Address: "127.0.0.1:8000"}, false},
		"unavailable backend, never placed": {host.Workspace{ID: id, Backend: "flaky"}, false},
		"unavailable backend, placed":       {host.Workspace{ID: id, Backend: "flaky", BackendState: state, BackendStateVersion: 1}, false},
		"not configured, never placed":      {host.Workspace{ID: id, Backend: "unconfigured"}, true},
		"not configured, placed":            {host.Workspace{ID: id, Backend: "unconfigured", BackendState: state, BackendStateVersion: 1}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := d.Stop(context.Background(), &tc.ws)
			if tc.noop {
				if p != nil || err != nil {
					t.Fatalf("Stop = %+v, %v; want a no-op", p, err)
				}
				return
			}
			if !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "cannot be stopped now") {
				t.Fatalf("Stop = %+v, %v; want a transient error saying why", p, err)
			}
		})
	}
}
