package store_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

// childStep is the step the child worker writes before hanging.
const childStep = "child worker holds it"

// runChildWorker is the body of the child process: it runs operations with
// a run function that marks the operation and then hangs until the process
// is killed.
func runChildWorker(dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{RescueAfter: 2 * time.Second})
	if err != nil {
		os.Exit(3)
	}
	err = s.RunOperations(ctx, func(ctx context.Context, opID string, attempt int) error {
		op, err := s.GetOperation(ctx, opID)
		if err != nil {
			return err
		}
		op.State, op.Step, op.Attempts = host.OpRunning, childStep, attempt
		if err := s.UpdateOperation(ctx, op); err != nil {
			return err
		}
		select {} // the process dies here
	})
	if err != nil {
		os.Exit(4)
	}
	select {}
}

// attemptLog records the attempts run saw per operation.
type attemptLog struct {
	mu   sync.Mutex
	seen map[string][]int
}

func (l *attemptLog) add(opID string, attempt int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string][]int{}
	}
	l.seen[opID] = append(l.seen[opID], attempt)
}

func (l *attemptLog) get(opID string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.seen[opID]...)
}

func TestRunOperationsRunsAndRetries(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{RescueAfter: 2 * time.Second})
	_, ok := mustCreate(t, s, "runs")
	_, flaky := mustCreate(t, s, "flaky")
	var log attemptLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := s.RunOperations(ctx, func(ctx context.Context, opID string, attempt int) error {
		log.add(opID, attempt)
		if opID == flaky.ID && attempt == 1 {
			return errors.New("first attempt fails")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RunOperations: %v", err)
	}
	if err := s.RunOperations(ctx, func(context.Context, string, int) error { return nil }); err == nil {
		t.Error("a second RunOperations on the same store was accepted")
	}
	waitFor(t, 30*time.Second, "the operation to run", func() bool { return len(log.get(ok.ID)) == 1 })
	waitFor(t, 60*time.Second, "the flaky operation's retry", func() bool { return len(log.get(flaky.ID)) == 2 })
	if got := log.get(flaky.ID); got[0] != 1 || got[1] != 2 {
		t.Errorf("flaky attempts = %v, want [1 2]", got)
	}
	// A job enqueued while running is picked up too.
	mustFinish(t, s, ok)
	next := &host.Operation{WorkspaceID: ok.WorkspaceID, Verb: host.VerbStop}
	if err := s.EnqueueOperation(ctxT(t), next); err != nil {
		t.Fatalf("EnqueueOperation: %v", err)
	}
	waitFor(t, 30*time.Second, "the enqueued operation to run", func() bool { return len(log.get(next.ID)) == 1 })
	cancel()
	stopCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if err := s.StopOperations(stopCtx); err != nil {
		t.Fatalf("StopOperations: %v", err)
	}
}

// TestRescueAfterWorkerDied runs an operation in a child process, kills
// the process mid-run with SIGKILL, and checks a new runner runs the
// operation again.
func TestRescueAfterWorkerDied(t *testing.T) {
	t.Parallel()
	s, dsn := mustOpen(t, store.Options{RescueAfter: 2 * time.Second})
	_, op := mustCreate(t, s, "rescued")

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childDSNEnv+"="+dsn)
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	if err := child.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	defer child.Process.Kill()
	waitFor(t, 60*time.Second, "the child to start the operation", func() bool {
		got, err := s.GetOperation(ctxT(t), op.ID)
		return err == nil && got.Step == childStep
	})
	if err := child.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	<-exited

	var log attemptLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.RunOperations(ctx, func(ctx context.Context, opID string, attempt int) error {
		log.add(opID, attempt)
		return nil
	}); err != nil {
		t.Fatalf("RunOperations: %v", err)
	}
	// The dead worker's leadership lease (~15s) must lapse before this
	// runner's rescuer runs, so allow a generous deadline.
	waitFor(t, 90*time.Second, "the abandoned operation to be rescued and run", func() bool {
		return len(log.get(op.ID)) > 0
	})
	if got := log.get(op.ID); got[0] != 2 {
		t.Errorf("rescued attempt = %v, want attempt 2", got)
	}
}

func TestLastFailedAttemptFailsOperation(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{MaxAttempts: 2})
	ws, op := mustCreate(t, s, "doomed")
	var log attemptLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.RunOperations(ctx, func(ctx context.Context, opID string, attempt int) error {
		log.add(opID, attempt)
		return sdk.Errorf(sdk.KindTransient, "start", "backend still down")
	}); err != nil {
		t.Fatalf("RunOperations: %v", err)
	}
	var got *host.Operation
	waitFor(t, 60*time.Second, "the operation to be failed", func() bool {
		var err error
		got, err = s.GetOperation(ctxT(t), op.ID)
		return err == nil && got.State == host.OpFailed
	})
	if got.ErrorKind != "transient" || got.ErrorMessage != "backend still down" || got.FinishedAt == nil {
		t.Errorf("failed operation = %+v", got)
	}
	if attempts := log.get(op.ID); len(attempts) != 2 {
		t.Errorf("attempts = %v, want 2 (MaxAttempts)", attempts)
	}
	if err := s.EnqueueOperation(ctxT(t), &host.Operation{WorkspaceID: ws.ID, Verb: host.VerbDelete}); err != nil {
		t.Errorf("workspace still blocked after its operation failed: %v", err)
	}
}
