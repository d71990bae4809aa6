package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/molecule-ai/molecule-host/sdk"
)

// ErrNotFound is the cause (errors.Is works) of every *sdk.Error of kind
// KindNotFound the store returns when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrStale is the cause of the KindConflict error Transition returns when
// its From guard does not hold: the status changed since the caller read it.
var ErrStale = errors.New("stale status")

// ErrFinal is the cause of the KindConflict error UpdateOperation returns
// for an operation that is already final.
var ErrFinal = errors.New("operation is final")

// Options tune a Store. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// MaxConns caps the pool; 0 keeps pgxpool's default.
	MaxConns int32
	// OperationWorkers is how many operations run at once per backend
	// (default 8): each backend has its own queue, so a backend whose
	// calls hang holds only its own workers.
	OperationWorkers int
	// OperationTimeout bounds one attempt of an operation (default 10m).
	OperationTimeout time.Duration
	// RescueAfter is how long an attempt may stay running before it is
	// considered abandoned (its host died) and run again; default
	// OperationTimeout+1m. When set below OperationTimeout, OperationTimeout
	// is lowered to it, so a live attempt is never rescued.
	RescueAfter time.Duration
	// MaxAttempts is how many times an operation is tried (default 5).
	MaxAttempts int
	// SoftStopTimeout is how long stopping waits for running operations
	// before cancelling them (default 10s).
	SoftStopTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OperationWorkers <= 0 {
		o.OperationWorkers = 8
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 10 * time.Minute
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = o.OperationTimeout + time.Minute
	}
	if o.OperationTimeout > o.RescueAfter {
		o.OperationTimeout = o.RescueAfter
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.SoftStopTimeout <= 0 {
		o.SoftStopTimeout = 10 * time.Second
	}
	return o
}

// Store is Molecule Host's Postgres store. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	opts   Options
	log    *slog.Logger
	insert *river.Client[pgx.Tx] // insert-only client: enqueues jobs in callers' transactions

	mu     sync.Mutex
	worker *runner         // the running operation executor, if any
	queues map[string]bool // queues the executor works, besides the default

	watch watchers // status waiters (GET /workspaces/{id}?wait=...)
}

// Open connects to dsn, applies the schema migrations (tern, under an
// advisory lock, so concurrent Opens are safe) and River's own, and returns
// the store. Errors: KindInvalid for a malformed dsn, KindTransient when the
// database cannot be reached, KindInternal when a migration fails.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInvalid, "store.open", err, "the database url is malformed")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInvalid, "store.open", err, "the database url is malformed")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, sdk.Wrap(sdk.KindTransient, "store.open", err, "the database cannot be reached")
	}
	if err := applyMigrations(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, opts: opts, log: opts.Logger}
	s.insert, err = river.NewClient(riverpgxv5.New(pool), s.riverConfig())
	if err != nil {
		pool.Close()
		return nil, internal("store.open", err)
	}
	return s, nil
}

// Close stops the operation runner if it still runs and closes the pool.
func (s *Store) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.SoftStopTimeout+5*time.Second)
	defer cancel()
	_ = s.StopOperations(ctx)
	s.pool.Close()
}

// Ping checks the database answers. Errors: KindTransient.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return sdk.Wrap(sdk.KindTransient, "store.ping", err, "the database does not answer")
	}
	return nil
}

// riverConfig is the River configuration shared by the insert-only client
// and the executing one.
func (s *Store) riverConfig() *river.Config {
	return &river.Config{
		Logger:               slog.New(minLevel{h: s.log.Handler(), min: slog.LevelWarn}),
		MaxAttempts:          s.opts.MaxAttempts,
		JobTimeout:           s.opts.OperationTimeout,
		RescueStuckJobsAfter: s.opts.RescueAfter,
		SoftStopTimeout:      s.opts.SoftStopTimeout,
		// Operations are user-facing latency (create -> online), not batch
		// throughput: pick new jobs up within tens of milliseconds. Insert
		// notifications usually wake the worker sooner; the poll is the
		// fallback and costs one indexed query per interval.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
	}
}

// inTx runs fn in a transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbError(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(op, err)
	}
	return nil
}

// notFound returns the KindNotFound error for a missing row.
func notFound(op, format string, args ...any) error {
	return &sdk.Error{Kind: sdk.KindNotFound, Op: op, Message: fmt.Sprintf(format, args...), Err: ErrNotFound}
}

func internal(op string, err error) error {
	return sdk.Wrap(sdk.KindInternal, op, err, "the store failed")
}

// dbError classifies a database error: a connectivity failure is
// KindTransient "the database is unavailable" (the API answers 503 with
// Retry-After), a call the caller cancelled is KindTransient too, and
// everything else is internal. An *sdk.Error passes through unchanged.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		return err
	}
	if unavailable(err) {
		return sdk.Wrap(sdk.KindTransient, op, err, "the database is unavailable")
	}
	if errors.Is(err, context.Canceled) {
		return sdk.Wrap(sdk.KindTransient, op, err, "the database call was interrupted")
	}
	return internal(op, err)
}

// unavailable reports whether err says the database could not be reached
// or the connection broke: no server, a refused or dropped connection, a
// timeout, a closed pool, or a server shutting down or refusing
// connections (SQLSTATE classes 08, 53300 and 57P0x).
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "53300" || strings.HasPrefix(pe.Code, "57P0")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	}
	// pgxpool and pgconn report these with plain errors.
	msg := err.Error()
	return strings.Contains(msg, "closed pool") || strings.Contains(msg, "conn closed")
}

// pgCode returns the SQLSTATE and constraint of a Postgres error, if any.
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// minLevel is an slog.Handler that drops records below min; River logs
// through it so only its warnings and errors reach the host's log.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(as), min: m.min}
}
func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h: m.h.WithGroup(name), min: m.min}
}
