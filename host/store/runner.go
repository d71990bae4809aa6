package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/molecule-ai/molecule-host/sdk"
)

// operationArgs are the River job arguments of an operation.
type operationArgs struct {
	OperationID string `json:"operation_id"`
}

// Kind is the River job kind of every operation.
func (operationArgs) Kind() string { return "operation" }

// operationWorker hands each operation job to the caller's run function.
type operationWorker struct {
	river.WorkerDefaults[operationArgs]
	s   *Store
	run func(ctx context.Context, opID string, attempt int) error
}

func (w *operationWorker) Work(ctx context.Context, job *river.Job[operationArgs]) error {
	err := w.run(ctx, job.Args.OperationID, job.Attempt)
	if err != nil && job.Attempt >= job.MaxAttempts {
		// No retry follows: make sure the operation does not stay in
		// flight forever, blocking every later verb on its workspace.
		w.s.failOperation(context.WithoutCancel(ctx), job.Args.OperationID, err)
	}
	return err
}

// failOperation marks an operation that is not final as failed with err.
func (s *Store) failOperation(ctx context.Context, opID string, err error) {
	msg := err.Error()
	var se *sdk.Error
	if errors.As(err, &se) && se.Message != "" {
		msg = se.Message
	}
	_, dbErr := s.pool.Exec(ctx, `UPDATE operations SET state = 'failed', error_kind = $2,
		error_message = $3, updated_at = now(), finished_at = now()
		WHERE id = $1 AND state IN ('queued', 'running')`, opID, sdk.KindOf(err).String(), msg)
	if dbErr != nil {
		s.log.Error("cannot mark an operation failed after its last attempt", "operation", opID, "err", dbErr)
	}
}

// runner is one started River client executing operations.
type runner struct {
	client *river.Client[pgx.Tx]
	once   sync.Once
	done   chan struct{} // closed when the runner has been stopped
}

// MaxAttempts is how many times an operation is tried before it is failed.
func (s *Store) MaxAttempts() int { return s.opts.MaxAttempts }

// RunOperations starts executing queued operations: each job calls run
// with the operation id and the attempt number (1 for the first). A nil
// return completes the job; an error makes it retry with backoff, up to
// Options.MaxAttempts attempts (so run should return nil once it has
// recorded a final state, and an error only to be retried). When the last
// attempt fails, the store marks the operation failed with that error. A job whose host died mid-run is run again
// after Options.RescueAfter (verbs are idempotent). RunOperations returns
// once execution has started; when ctx ends, execution stops gracefully
// (waiting up to Options.SoftStopTimeout), then cancels what still runs.
// Errors: KindConflict when operations already run on this store.
func (s *Store) RunOperations(ctx context.Context, run func(ctx context.Context, opID string, attempt int) error) error {
	const name = "store.run_operations"
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.worker != nil {
		return sdk.Errorf(sdk.KindConflict, name, "operations already run on this store")
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &operationWorker{s: s, run: run})
	cfg := s.riverConfig()
	cfg.Workers = workers
	cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: s.opts.OperationWorkers}}
	client, err := river.NewClient(riverpgxv5.New(s.pool), cfg)
	if err != nil {
		return internal(name, err)
	}
	// Start gets a context that is never cancelled: cancelling it would be
	// a hard stop, and ctx ending must stop gracefully first.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return dbError(name, err)
	}
	r := &runner{client: client, done: make(chan struct{})}
	s.worker = r
	go func() {
		select {
		case <-ctx.Done():
			_ = s.stop(context.Background(), r)
		case <-r.done:
		}
	}()
	return nil
}

// StopOperations stops executing operations: it waits for running ones to
// finish until ctx ends or Options.SoftStopTimeout passes, then cancels
// them and waits for them to return. Stopping a store that runs nothing is
// a no-op. Errors: KindTransient when ctx ends before the stop completed.
func (s *Store) StopOperations(ctx context.Context) error {
	s.mu.Lock()
	r := s.worker
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	return s.stop(ctx, r)
}

// stop stops r (gracefully, then hard) and forgets it.
func (s *Store) stop(ctx context.Context, r *runner) error {
	defer func() {
		s.mu.Lock()
		if s.worker == r {
			s.worker = nil
		}
		s.mu.Unlock()
		r.once.Do(func() { close(r.done) })
	}()
	if err := r.client.Stop(ctx); err == nil { // escalates to cancelling jobs after SoftStopTimeout
		return nil
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.client.StopAndCancel(hard); err != nil {
		return sdk.Wrap(sdk.KindTransient, "store.stop_operations", err, "running operations did not stop in time")
	}
	return nil
}
