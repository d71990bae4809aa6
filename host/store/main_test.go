package store_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
	"github.com/molecule-ai/molecule-host/sdk"
)

// childDSNEnv, when set, makes the test binary a worker process for
// TestRescueAfterWorkerDied instead of running tests.
const childDSNEnv = "STORE_TEST_CHILD_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childDSNEnv); dsn != "" {
		runChildWorker(dsn)
		return
	}
	storetest.Main(m)
}

func ctxT(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// mustOpen opens a store on a fresh database and returns it with its DSN.
func mustOpen(tb testing.TB, opts store.Options) (*store.Store, string) {
	tb.Helper()
	dsn := storetest.DSN(tb)
	s, err := store.Open(ctxT(tb), dsn, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(s.Close)
	return s, dsn
}

// mustCreate creates a workspace with its create operation.
func mustCreate(tb testing.TB, s *store.Store, name string) (*host.Workspace, *host.Operation) {
	tb.Helper()
	ws := &host.Workspace{Name: name, Backend: "fake", Runtime: "default", Tier: 2,
		Config: map[string]string{"a.yaml": "x: 1"}, ConfigHash: "h1"}
	op := &host.Operation{Verb: host.VerbCreate}
	if err := s.CreateWorkspace(ctxT(tb), ws, op); err != nil {
		tb.Fatalf("CreateWorkspace(%s): %v", name, err)
	}
	return ws, op
}

// mustTransition moves a workspace to a status or fails the test.
func mustTransition(tb testing.TB, s *store.Store, id string, to host.Status) {
	tb.Helper()
	if _, err := s.Transition(ctxT(tb), id, host.StatusChange{To: to, Reason: "test"}); err != nil {
		tb.Fatalf("Transition(%s): %v", to, err)
	}
}

// mustFinish marks an operation succeeded.
func mustFinish(tb testing.TB, s *store.Store, op *host.Operation) {
	tb.Helper()
	op.State = host.OpSucceeded
	if err := s.UpdateOperation(ctxT(tb), op); err != nil {
		tb.Fatalf("UpdateOperation: %v", err)
	}
}

// count runs a counting query on dsn.
func count(tb testing.TB, dsn, sql string, args ...any) int {
	tb.Helper()
	conn, err := pgx.Connect(ctxT(tb), dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctxT(tb), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

func wantKind(tb testing.TB, err error, k sdk.Kind) {
	tb.Helper()
	if !sdk.IsKind(err, k) {
		tb.Fatalf("error = %v, want kind %s", err, k)
	}
	var se *sdk.Error
	if !errors.As(err, &se) || se.Message == "" {
		tb.Fatalf("error %v is not an *sdk.Error with a message", err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}
