// Package dispatch is the only package that calls backend plugins. It has
// one dispatcher per verb (start.go, stop.go, destroy.go, status.go,
// listmanaged.go, logs.go), each with its own fallback when no usable
// backend answers, and it converts between host domain types and the sdk
// contract in exactly one place.
//
// Before calling an optional verb a dispatcher checks the backend's
// manifest: a verb the backend does not declare is a KindUnsupported error
// naming the backend (HTTP 501), never a call into the plugin. Transient
// errors are retried here with backoff; every other kind is returned at once.
//
// Every plugin call has a deadline per verb (Timeouts), retries included: a
// plugin that does not answer in time gives a KindTransient error naming
// the backend and the verb, and the caller goes on even when the plugin
// ignores the cancellation.
//
// dispatch must not import host/httpapi or host/store; it reaches plugins
// through the small Registry interface that cmd wires to host/pluginmgr.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Registry resolves a backend name to a live plugin handle and its
// manifest. host/pluginmgr implements it.
type Registry interface {
	Backend(name string) (sdk.Backend, *sdk.Manifest, error)
}

// Dispatcher routes verbs to backends.
type Dispatcher struct {
	reg      Registry
	log      *slog.Logger
	retry    RetryPolicy
	timeouts Timeouts
}

// RetryPolicy bounds the retries of KindTransient errors inside one
// dispatcher call.
type RetryPolicy struct {
	Attempts int           // total tries, at least 1
	Initial  time.Duration // first backoff, doubled each retry
	Max      time.Duration
}

// DefaultRetry is the retry policy used when New is given none.
var DefaultRetry = RetryPolicy{Attempts: 3, Initial: 100 * time.Millisecond, Max: time.Second}

// Timeouts bound one dispatcher call per verb, retries included. A zero
// field takes its value from DefaultTimeouts. Logs is the bound of a
// non-following read; a follow lasts as long as its caller's context.
type Timeouts struct {
	Start, Stop, Destroy, Status, ListManaged, Logs time.Duration
}

// DefaultTimeouts are the deadlines used unless WithTimeouts says
// otherwise. Status is short because the status sweep and create's
// preflight wait on it; Start may legitimately take as long as a provision.
var DefaultTimeouts = Timeouts{
	Start:       5 * time.Minute,
	Stop:        2 * time.Minute,
	Destroy:     2 * time.Minute,
	Status:      15 * time.Second,
	ListManaged: 30 * time.Second,
	Logs:        30 * time.Second,
}

// New returns a Dispatcher over reg with DefaultTimeouts.
func New(reg Registry, log *slog.Logger, retry RetryPolicy) *Dispatcher {
	if retry.Attempts < 1 {
		retry = DefaultRetry
	}
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{reg: reg, log: log, retry: retry, timeouts: DefaultTimeouts}
}

// WithTimeouts returns a copy of d whose calls are bounded by t (zero
// fields keep DefaultTimeouts).
func (d *Dispatcher) WithTimeouts(t Timeouts) *Dispatcher {
	def := DefaultTimeouts
	for _, f := range [][2]*time.Duration{
		{&t.Start, &def.Start}, {&t.Stop, &def.Stop}, {&t.Destroy, &def.Destroy},
		{&t.Status, &def.Status}, {&t.ListManaged, &def.ListManaged}, {&t.Logs, &def.Logs},
	} {
		if *f[0] <= 0 {
			*f[0] = *f[1]
		}
	}
	c := *d
	c.timeouts = t
	return &c
}

// Timeouts returns the deadlines d applies.
func (d *Dispatcher) Timeouts() Timeouts { return d.timeouts }

// ErrNoBackend is wrapped by errors returned when a workspace's backend is
// not loaded or not usable; it carries the registry's kind (NotFound or
// Transient) and reason.
var ErrNoBackend = errors.New("no usable backend")

// resolve returns the backend for name after checking that its manifest
// declares every capability in need.
func (d *Dispatcher) resolve(name, op string, need ...sdk.Capability) (sdk.Backend, *sdk.Manifest, error) {
	b, m, err := d.reg.Backend(name)
	if err != nil {
		e := &sdk.Error{Kind: sdk.KindOf(err), Op: op, Message: "Backend " + quote(name) + " is not usable: " + message(err), Err: errors.Join(ErrNoBackend, err)}
		return nil, nil, e
	}
	for _, c := range need {
		if !sdk.HasCapability(m.Capabilities, c) {
			return nil, nil, NotImplemented(name, op, c)
		}
	}
	return b, m, nil
}

// NotImplemented returns the KindUnsupported error for a verb a backend's
// manifest does not declare.
func NotImplemented(backend, op string, c sdk.Capability) *sdk.Error {
	return &sdk.Error{Kind: sdk.KindUnsupported, Op: op,
		Message: "Backend " + quote(backend) + " does not implement " + string(c) + "."}
}

// call runs fn under the deadline limit, retrying KindTransient errors per
// the policy within it. When the deadline passes first, call returns at
// once (fn's eventual result is dropped) with a KindTransient error naming
// the backend and op; when the caller's ctx ends first, ctx's error.
func (d *Dispatcher) call(ctx context.Context, b sdk.Backend, backend, op string, limit time.Duration, fn func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := d.retried(cctx, b, backend, op, fn)
	// The plugin may see the deadline a moment before cctx does (it gets
	// it rounded over the wire), so a failure at or after the deadline is
	// the deadline's.
	if err != nil && ctx.Err() == nil && (cctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
		d.log.Warn("plugin did not answer in time", "backend", backend, "op", op, "limit", limit, "err", err)
		return Timeout(backend, op, limit)
	}
	return err
}

// retried runs fn, retrying KindTransient errors per the policy until ctx
// ends; never an error during which the plugin exited (PluginExited): the
// plugin manager has already resent the request once on the relaunched
// plugin, and a request that kills a plugin twice is not sent again.
func (d *Dispatcher) retried(ctx context.Context, b sdk.Backend, backend, op string, fn func(context.Context) error) error {
	wait := d.retry.Initial
	for try := 1; ; try++ {
		err := bounded(ctx, b, fn)
		if err == nil || !sdk.IsKind(err, sdk.KindTransient) || PluginExited(err) || try >= d.retry.Attempts || ctx.Err() != nil {
			return err
		}
		d.log.Warn("transient backend error, retrying", "backend", backend, "op", op, "try", try, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(wait*2, d.retry.Max)
	}
}

// cancellable is implemented by backends whose calls return as soon as
// their context ends, such as the plugin manager's handles (every call is
// a gRPC call, which the client abandons at its deadline). bounded calls
// them directly; any other backend is called in a goroutine it can
// abandon.
type cancellable interface{ HonoursCancellation() }

// PluginExited reports whether err is a call's failure because its plugin
// process exited during it (and, for a retryable verb, again on the
// relaunched plugin): the request itself may be what kills the plugin, so
// callers fail the operation at once and never resend it.
func PluginExited(err error) bool { return errors.Is(err, sdk.ErrPluginUnavailable) }

// bounded runs fn and returns its error, or ctx's error as soon as ctx
// ends, even when fn ignores ctx: a hung plugin call is abandoned, not
// waited for. A cancellable backend's call is made directly.
func bounded(ctx context.Context, b sdk.Backend, fn func(context.Context) error) error {
	if _, ok := b.(cancellable); ok {
		return fn(ctx) // returns when ctx ends: no goroutine hop on the hot path
	}
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Timeout returns the KindTransient error of a plugin call that did not
// answer within limit; it wraps context.DeadlineExceeded.
func Timeout(backend, op string, limit time.Duration) *sdk.Error {
	return &sdk.Error{Kind: sdk.KindTransient, Op: op, Err: context.DeadlineExceeded,
		Message: fmt.Sprintf("Backend %s did not answer %s within %s.", quote(backend), op, limit)}
}

func quote(s string) string { return "\"" + s + "\"" }

func message(err error) string {
	var e *sdk.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}
