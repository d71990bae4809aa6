package registry

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// backends serves test backends by name, each with the capabilities its
// code has.
type backends map[string]sdk.Backend

func (r backends) Backend(name string) (sdk.Backend, *sdk.Manifest, error) {
	b, ok := r[name]
	if !ok {
		return nil, nil, sdk.Errorf(sdk.KindNotFound, "backend", "no backend named %q", name)
	}
	caps := sdk.CoreCapabilities
	if _, ok := b.(*scripted); ok {
		caps = sdk.CapabilitiesOf(b)
	}
	return b, &sdk.Manifest{Name: name, ProtocolVersion: sdk.ProtocolVersion, Capabilities: caps}, nil
}

// scripted is a backend whose Status and Logs answer what the test set.
type scripted struct {
	mu     sync.Mutex
	states map[string]sdk.WorkspaceStatus
	logs   string
}

func (b *scripted) set(id string, st sdk.RunState, detail string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.states[id] = sdk.WorkspaceStatus{WorkspaceID: id, State: st, Detail: detail}
}

func (b *scripted) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{Name: "scripted", ProtocolVersion: sdk.ProtocolVersion}, nil
}
func (b *scripted) Configure(context.Context, *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	return &sdk.ConfigureResponse{}, nil
}
func (b *scripted) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	return &sdk.StartResponse{}, nil
}
func (b *scripted) Stop(context.Context, *sdk.StopRequest) (*sdk.StopResponse, error) {
	return &sdk.StopResponse{}, nil
}
func (b *scripted) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return &sdk.DestroyResponse{}, nil
}
func (b *scripted) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return &sdk.ListManagedResponse{}, nil
}
func (b *scripted) Status(_ context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := &sdk.StatusResponse{}
	for _, r := range req.Workspaces {
		st, ok := b.states[r.WorkspaceID]
		if !ok {
			st = sdk.WorkspaceStatus{WorkspaceID: r.WorkspaceID, State: sdk.RunStateRunning}
		}
		out.Statuses = append(out.Statuses, st)
	}
	return out, nil
}
func (b *scripted) Logs(_ context.Context, _ *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	return send(&sdk.LogChunk{Data: []byte(b.logs)})
}

// mustFake serves a configured fake over in-memory gRPC, with fault rules.
func mustFake(t *testing.T, rules string) sdk.Backend {
	t.Helper()
	dir := t.TempDir()
	fb := fake.New()
	t.Cleanup(func() { _ = fb.Close() })
	b := backendtest.Serve(t, fb)
	if _, err := b.Configure(context.Background(), &sdk.ConfigureRequest{Config: map[string]string{"state_dir": dir}}); err != nil {
		t.Fatal(err)
	}
	if rules != "" {
		if err := os.WriteFile(filepath.Join(dir, "faults.json"), []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustWorkspace creates a workspace on backend whose create operation has
// finished, in status to (with a passed provision deadline when expired).
func mustWorkspace(t *testing.T, st *store.Store, name, backend string, to host.Status, expired bool) *host.Workspace {
	t.Helper()
	ctx := testCtx(t)
	ws := &host.Workspace{Name: name, Backend: backend, Runtime: "default", Config: map[string]string{}}
	op := &host.Operation{Verb: host.VerbCreate}
	if err := st.CreateWorkspace(ctx, ws, op); err != nil {
		t.Fatal(err)
	}
	op.State = host.OpSucceeded
	if err := st.UpdateOperation(ctx, op); err != nil {
		t.Fatal(err)
	}
	ch := host.StatusChange{To: to, Reason: "test"}
	if expired {
		past := time.Now().Add(-time.Hour)
		ch.ProvisionDeadline = &past
	}
	if _, err := st.Transition(ctx, ws.ID, ch); err != nil {
		t.Fatal(err)
	}
	return ws
}

func heartbeat(t *testing.T, st *store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := st.RecordHeartbeat(testCtx(t), id, store.Heartbeat{}); err != nil {
			t.Fatal(err)
		}
	}
}

func statusOf(t *testing.T, st *store.Store, id string) (host.Status, string) {
	t.Helper()
	ws, err := st.GetWorkspace(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return ws.Status, ws.StatusReason
}

// waitStatus waits, with a deadline, for a workspace to reach want.
func waitStatus(t *testing.T, st *store.Store, id string, want host.Status, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, reason := statusOf(t, st, id)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workspace %s is %s (%s) after %s, want %s", id, got, reason, within, want)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

func newTestSweeper(st *store.Store, reg dispatch.Registry, statusLimit time.Duration) *Sweeper {
	log := slog.New(slog.DiscardHandler)
	d := dispatch.New(reg, log, dispatch.RetryPolicy{Attempts: 1}).WithTimeouts(dispatch.Timeouts{Status: statusLimit})
	s := NewSweeper(st, d, time.Minute, log)
	s.started = s.now().Add(-time.Hour) // no start-up grace unless a test wants it
	return s
}

// TestSweepHungBackend: a plugin hanging in Status (the fake's hang fault)
// neither delays the database sweeps nor another backend's status sweep;
// its own workspaces wait, unchanged.
func TestSweepHungBackend(t *testing.T) {
	st := storetest.New(t)
	reg := backends{"hung": mustFake(t, `[{"verb":"status","action":"hang","count":-1}]`), "fake": mustFake(t, "")}
	hungLive := mustWorkspace(t, st, "hung-live", "hung", host.StatusOnline, false)
	hungSilent := mustWorkspace(t, st, "hung-silent", "hung", host.StatusOnline, false)
	hungLate := mustWorkspace(t, st, "hung-late", "hung", host.StatusProvisioning, true)
	killed := mustWorkspace(t, st, "killed", "fake", host.StatusOnline, false) // the fake holds no record: missing
	heartbeat(t, st, hungLive.ID, killed.ID)

	s := newTestSweeper(st, reg, time.Minute) // the hang outlasts the test
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); s.Wait() }()
	returned := make(chan struct{})
	go func() { s.Sweep(ctx); close(returned) }()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Sweep did not return within 10s while one backend hangs in Status")
	}
	waitStatus(t, st, killed.ID, host.StatusOffline, 10*time.Second)
	waitStatus(t, st, hungSilent.ID, host.StatusOffline, 10*time.Second) // liveness, database only
	waitStatus(t, st, hungLate.ID, host.StatusFailed, 10*time.Second)    // provision deadline
	if got, reason := statusOf(t, st, hungLive.ID); got != host.StatusOnline {
		t.Errorf("the hung backend's heartbeating workspace is %s (%s), want online (unknown is not offline)", got, reason)
	}

	// The next round skips the still-hung backend and still serves the other.
	again := mustWorkspace(t, st, "killed-later", "fake", host.StatusOnline, false)
	heartbeat(t, st, again.ID)
	s.Sweep(ctx)
	waitStatus(t, st, again.ID, host.StatusOffline, 10*time.Second)
}

// TestSweepLivenessGrace: after the host starts, liveness marks nothing
// offline until one TTL has passed (the downtime is not the agent's).
func TestSweepLivenessGrace(t *testing.T) {
	st := storetest.New(t)
	ws := mustWorkspace(t, st, "quiet", "scripted", host.StatusOnline, false) // never heartbeat
	reg := backends{"scripted": &scripted{states: map[string]sdk.WorkspaceStatus{}}}
	now := time.Now()
	log := slog.New(slog.DiscardHandler)
	s := NewSweeper(st, dispatch.New(reg, log, dispatch.DefaultRetry), time.Minute, log)
	s.now = func() time.Time { return now }
	s.started = now
	ctx := testCtx(t)

	s.Sweep(ctx)
	s.Wait()
	if got, reason := statusOf(t, st, ws.ID); got != host.StatusOnline {
		t.Fatalf("right after start the sweep made the workspace %s (%s), want online until one TTL has passed", got, reason)
	}
	now = now.Add(time.Minute)
	s.Sweep(ctx)
	s.Wait()
	if got, _ := statusOf(t, st, ws.ID); got != host.StatusOffline {
		t.Fatalf("one TTL after start the silent workspace is %s, want offline", got)
	}
}

// TestSweepFailsDeadBoot: a workspace whose start returned but whose
// backend reports it stopped or missing fails at once, with the backend's
// detail and the boot log's last lines; one still starting, or running, is
// left alone.
func TestSweepFailsDeadBoot(t *testing.T) {
	st := storetest.New(t)
	b := &scripted{states: map[string]sdk.WorkspaceStatus{},
		logs: "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nboot failed: no such image\n"}
	reg := backends{"scripted": b}
	dead := mustWorkspace(t, st, "dead", "scripted", host.StatusProvisioning, false)
	booting := mustWorkspace(t, st, "booting", "scripted", host.StatusProvisioning, false)
	gone := mustWorkspace(t, st, "gone", "scripted", host.StatusProvisioning, false)
	b.set(dead.ID, sdk.RunStateStopped, "instance i-1 is stopped: Server.InternalError")
	b.set(gone.ID, sdk.RunStateMissing, "")
	starting := &host.Workspace{Name: "starting", Backend: "scripted", Runtime: "default", Config: map[string]string{}}
	if err := st.CreateWorkspace(testCtx(t), starting, &host.Operation{Verb: host.VerbCreate}); err != nil {
		t.Fatal(err) // its create operation is still queued
	}
	b.set(starting.ID, sdk.RunStateMissing, "")

	s := newTestSweeper(st, reg, time.Minute)
	s.Sweep(testCtx(t))
	s.Wait()
	got, reason := statusOf(t, st, dead.ID)
	if got != host.StatusFailed || !strings.Contains(reason, "Server.InternalError") ||
		!strings.Contains(reason, "boot failed: no such image") || !strings.Contains(reason, "line 3") || strings.Contains(reason, "line 2") {
		t.Errorf("dead boot: %s (%q), want failed with the detail and the last 5 boot log lines", got, reason)
	}
	if got, reason := statusOf(t, st, gone.ID); got != host.StatusFailed || !strings.Contains(reason, "missing") {
		t.Errorf("vanished boot: %s (%q), want failed", got, reason)
	}
	for _, id := range []string{booting.ID, starting.ID} {
		if got, reason := statusOf(t, st, id); got != host.StatusProvisioning {
			t.Errorf("workspace %s is %s (%q), want still provisioning", id, got, reason)
		}
	}
}

// TestSweepStoppedStillRunning: a stopped workspace its backend reports
// running stays stopped with a reason that says so, until the backend
// reports it not running.
func TestSweepStoppedStillRunning(t *testing.T) {
	st := storetest.New(t)
	b := &scripted{states: map[string]sdk.WorkspaceStatus{}}
	ws := mustWorkspace(t, st, "zombie", "scripted", host.StatusStopped, false)
	s := newTestSweeper(st, backends{"scripted": b}, time.Minute)
	ctx := testCtx(t)

	s.Sweep(ctx) // scripted reports every workspace running unless set
	s.Wait()
	got, reason := statusOf(t, st, ws.ID)
	if got != host.StatusStopped || !strings.Contains(reason, "still running") {
		t.Fatalf("stopped workspace reported running: %s (%q), want stopped saying it still runs", got, reason)
	}
	b.set(ws.ID, sdk.RunStateStopped, "")
	s.Sweep(ctx)
	s.Wait()
	if got, reason := statusOf(t, st, ws.ID); got != host.StatusStopped || strings.Contains(reason, "still running") {
		t.Fatalf("after the backend stopped it: %s (%q), want stopped without the warning", got, reason)
	}
}
