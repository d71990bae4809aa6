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
// dispatch must not import host/httpapi or host/store; it reaches plugins
// through the small Registry interface that cmd wires to host/pluginmgr.
package dispatch

import (
	"context"
	"errors"
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
	reg   Registry
	log   *slog.Logger
	retry RetryPolicy
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

// New returns a Dispatcher over reg.
func New(reg Registry, log *slog.Logger, retry RetryPolicy) *Dispatcher {
	if retry.Attempts < 1 {
		retry = DefaultRetry
	}
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{reg: reg, log: log, retry: retry}
}

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

// call runs fn, retrying KindTransient errors per the policy, except those
// that say the backend itself is gone (the plugin manager already restarted
// and retried once).
func (d *Dispatcher) call(ctx context.Context, op string, fn func(context.Context) error) error {
	wait := d.retry.Initial
	var err error
	for try := 1; ; try++ {
		err = fn(ctx)
		if err == nil || !sdk.IsKind(err, sdk.KindTransient) || try >= d.retry.Attempts {
			return err
		}
		d.log.Warn("transient backend error, retrying", "op", op, "try", try, "err", err)
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

func quote(s string) string { return "\"" + s + "\"" }

func message(err error) string {
	var e *sdk.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}
