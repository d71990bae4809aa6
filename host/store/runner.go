package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
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

// queueNameRE is River's rule for queue names.
var queueNameRE = regexp.MustCompile(`^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$`)

// queueFor returns the River queue of a backend's operations: each backend
// has its own, with its own worker limit, so a backend whose calls hang
// cannot hold the workers of the others.
func queueFor(backend string) string {
	if q := "backend_" + backend; len(q) <= 64 && queueNameRE.MatchString(q) {
		return q
	}
	sum := sha256.Sum256([]byte(backend))
	return "backend_" + hex.EncodeToString(sum[:8])
}

// addQueue makes the running executor (and any started later) work queue.
func (s *Store) addQueue(queue string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addQueueLocked(queue)
}

func (s *Store) addQueueLocked(queue string) {
	if s.queues == nil {
		s.queues = map[string]bool{}
	}
	if s.queues[queue] {
		return
	}
	s.queues[queue] = true
	if s.worker == nil {
		return
	}
	if err := s.worker.client.Queues().Add(queue, s.queueConfig()); err != nil {
		s.log.Error("adding an operation queue", "queue", queue, "err", err)
	}
}

func (s *Store) queueConfig() river.QueueConfig {
	return river.QueueConfig{MaxWorkers: s.opts.OperationWorkers}
}

// discoverQueues adds the queue of every backend a workspace uses and of
// every operation job still pending, including those another host replica
// inserted.
func (s *Store) discoverQueues(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT backend FROM workspaces WHERE status <> 'removed'`)
	if err != nil {
		return dbError("store.discover_queues", err)
	}
	backends, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return dbError("store.discover_queues", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT DISTINCT queue FROM river_job
		WHERE kind = $1 AND state NOT IN ('cancelled', 'completed', 'discarded')`, operationArgs{}.Kind())
	if err != nil {
		return dbError("store.discover_queues", err)
	}
	queues, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return dbError("store.discover_queues", err)
	}
	for _, b := range backends {
		queues = append(queues, queueFor(b))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range queues {
		if q != river.QueueDefault && queueNameRE.MatchString(q) {
			s.addQueueLocked(q)
		}
	}
	return nil
}

// RunOperations starts executing queued operations: each job calls run
// with the operation id and the attempt number (1 for the first). A nil
// return completes the job; an error makes it retry with backoff, up to
// Options.MaxAttempts attempts (so run should return nil once it has
// recorded a final state, and an error only to be retried). When the last
// attempt fails, the store marks the operation failed with that error. A
// job whose host died mid-run is run again after Options.RescueAfter
// (verbs are idempotent). Each backend's operations run in its own queue,
// at most Options.OperationWorkers at once. RunOperations returns once
// execution has started; when ctx ends, execution stops gracefully
// (waiting up to Options.SoftStopTimeout), then cancels what still runs.
// Errors: KindConflict when operations already run on this store.
func (s *Store) RunOperations(ctx context.Context, run func(ctx context.Context, opID string, attempt int) error) error {
	const name = "store.run_operations"
	if err := s.discoverQueues(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.worker != nil {
		return sdk.Errorf(sdk.KindConflict, name, "operations already run on this store")
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &operationWorker{s: s, run: run})
	cfg := s.riverConfig()
	cfg.Workers = workers
	// The default queue holds the jobs of hosts from before per-backend
	// queues.
	cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: s.queueConfig()}
	for q := range s.queues {
		cfg.Queues[q] = s.queueConfig()
	}
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
		tick := time.NewTicker(queuePoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				_ = s.stop(context.Background(), r)
				return
			case <-r.done:
				return
			case <-tick.C:
				if err := s.discoverQueues(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("looking for new operation queues", "err", err)
				}
			}
		}
	}()
	return nil
}

// queuePoll is how often a running executor looks for queues another
// host replica started using.
const queuePoll = 5 * time.Second

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
