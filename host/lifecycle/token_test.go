package lifecycle_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// backends serves the fake backend (its real code over in-memory gRPC).
type backends struct {
	b sdk.Backend
	m *sdk.Manifest
}

func (r *backends) Backend(name string) (sdk.Backend, *sdk.Manifest, error) {
	if name != "fake" {
		return nil, nil, sdk.Errorf(sdk.KindNotFound, "backend", "no backend named %q", name)
	}
	return r.b, r.m, nil
}

// harness is a lifecycle service on a fresh database and the fake backend.
type harness struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	db    *pgx.Conn
	svc   *lifecycle.Service
	state string
}

func mustHarness(t *testing.T) *harness {
	t.Helper()
	return mustHarnessWith(t, nil)
}

// mustHarnessWith is mustHarness with the fake wrapped by wrap (when not
// nil), to make it misbehave.
func mustHarnessWith(t *testing.T, wrap func(sdk.Backend) sdk.Backend) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	state := t.TempDir()
	fb := fake.New()
	t.Cleanup(func() { _ = fb.Close() })
	b := backendtest.Serve(t, fb)
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{Config: map[string]string{"state_dir": state}}); err != nil {
		t.Fatal(err)
	}
	m, err := b.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Capabilities = sdk.CapabilitiesOf(fb)
	if wrap != nil {
		b = wrap(b)
	}
	log := slog.New(slog.DiscardHandler)
	disp := dispatch.New(&backends{b: b, m: m}, log, dispatch.RetryPolicy{Attempts: 1, Initial: time.Millisecond, Max: time.Millisecond})
	svc := lifecycle.New(st, disp, lifecycle.Config{HostURL: "http://127.0.0.1:9", Images: map[string]string{"default": "img"}, MaxAttempts: 3}, log)
	return &harness{t: t, ctx: ctx, st: st, db: db, svc: svc, state: state}
}

// run carries out op's first attempt, as the job queue would, and returns
// Run's answer (non-nil asks for a retry).
func (h *harness) run(op *host.Operation) error {
	h.t.Helper()
	return h.svc.Run(h.ctx, op.ID, 1)
}

func (h *harness) act(id string, verb host.Verb) *host.Operation {
	h.t.Helper()
	_, op, err := h.svc.Act(h.ctx, id, verb)
	if err != nil {
		h.t.Fatalf("%s: %v", verb, err)
	}
	return op
}

// digest returns the workspace's stored token digest, nil when it has none.
func (h *harness) digest(id string) []byte {
	h.t.Helper()
	var d []byte
	err := h.db.QueryRow(h.ctx, `SELECT digest FROM agent_tokens WHERE workspace_id = $1`, id).Scan(&d)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// dead checks that no workspace answers to an old token digest.
func (h *harness) dead(what string, digest []byte) {
	h.t.Helper()
	if id, err := h.st.WorkspaceByToken(h.ctx, digest); !sdk.IsKind(err, sdk.KindNotFound) {
		h.t.Errorf("%s: the old agent token still resolves to %q (err %v)", what, id, err)
	}
}

// TestStopRevokesAgentToken walks a workspace through stop, start, restart
// and delete, checking after each which agent token is live: a stop kills
// the token (also when the backend's stop fails, and in the stop half of a
// restart), a start or restart mints a new one.
func TestStopRevokesAgentToken(t *testing.T) {
	h := mustHarness(t)
	ws, op, err := h.svc.Create(h.ctx, lifecycle.CreateRequest{Name: "tok", Backend: "fake", Runtime: "default", Tier: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.run(op); err != nil {
		t.Fatalf("create: %v", err)
	}
	first := h.digest(ws.ID)
	if first == nil {
		t.Fatal("create minted no agent token")
	}

	if err := h.run(h.act(ws.ID, host.VerbStop)); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if d := h.digest(ws.ID); d != nil {
		t.Error("a stopped workspace keeps an agent token")
	}
	h.dead("after stop", first)

	if err := h.run(h.act(ws.ID, host.VerbStart)); err != nil {
		t.Fatalf("start: %v", err)
	}
	second := h.digest(ws.ID)
	if second == nil || bytes.Equal(second, first) {
		t.Fatal("start did not mint a new agent token")
	}
	h.dead("after start", first)

	// The stop half of a restart fails on the backend: the old token must
	// be dead already, though no new one is minted yet.
	faults := filepath.Join(h.state, "faults.json")
	if err := os.WriteFile(faults, []byte(`[{"verb":"stop","action":"fail","kind":"transient","count":1}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	restart := h.act(ws.ID, host.VerbRestart)
	if err := h.run(restart); err == nil {
		t.Fatal("restart with a failing backend stop did not ask for a retry")
	}
	h.dead("restart's stop failed", second)
	if err := h.svc.Run(h.ctx, restart.ID, 2); err != nil {
		t.Fatalf("restart, second attempt: %v", err)
	}
	third := h.digest(ws.ID)
	if third == nil || bytes.Equal(third, second) {
		t.Fatal("restart did not mint a new agent token")
	}

	if err := os.WriteFile(faults, []byte(`[{"verb":"destroy","action":"fail","kind":"transient","count":1}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	del := h.act(ws.ID, host.VerbDelete)
	if err := h.run(del); err == nil {
		t.Fatal("delete with a failing backend destroy did not ask for a retry")
	}
	h.dead("delete's destroy failed", third)
	if err := h.svc.Run(h.ctx, del.ID, 2); err != nil {
		t.Fatalf("delete, second attempt: %v", err)
	}
	if d := h.digest(ws.ID); d != nil {
		t.Error("a removed workspace keeps an agent token")
	}
}
