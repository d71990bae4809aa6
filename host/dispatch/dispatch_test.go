package dispatch_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

// registry serves one backend ("fake", the real fake plugin code over
// in-memory gRPC) and answers for others as told.
type registry struct {
	b       sdk.Backend
	m       *sdk.Manifest
	missing map[string]error
}

func (r *registry) Backend(name string) (sdk.Backend, *sdk.Manifest, error) {
	if err, ok := r.missing[name]; ok {
		return nil, nil, err
	}
	if name != "fake" {
		return nil, nil, sdk.Errorf(sdk.KindNotFound, "backend", "no backend named %q", name)
	}
	return r.b, r.m, nil
}

func mustRegistry(t *testing.T) (*registry, string) {
	t.Helper()
	state := t.TempDir()
	fb := fake.New()
	t.Cleanup(func() { _ = fb.Close() })
	b := backendtest.Serve(t, fb)
	ctx := context.Background()
	if _, err := b.Configure(ctx, &sdk.ConfigureRequest{Config: map[string]string{"state_dir": state}}); err != nil {
		t.Fatal(err)
	}
	m, err := b.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Capabilities = sdk.CapabilitiesOf(fb)
	return &registry{b: b, m: m, missing: map[string]error{
		"flaky": sdk.Errorf(sdk.KindTransient, "backend", "backend \"flaky\" is unavailable: crashed 5 times"),
	}}, state
}

func faults(t *testing.T, dir, rules string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "faults.json"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newDispatcher(r *registry) *dispatch.Dispatcher {
	return dispatch.New(r, slog.New(slog.DiscardHandler), dispatch.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond})
}

func TestFallbacks(t *testing.T) {
	r, _ := mustRegistry(t)
	d := newDispatcher(r)
	ctx := context.Background()
	gone := &host.Workspace{ID: "w1", Backend: "gone"}

	_, err := d.Start(ctx, dispatch.StartSpec{Workspace: gone})
	if !sdk.IsKind(err, sdk.KindNotFound) || !errors.Is(err, dispatch.ErrNoBackend) {
		t.Errorf("Start on a missing backend: %v, want not_found wrapping ErrNoBackend", err)
	}
	if p, err := d.Stop(ctx, gone); p != nil || err != nil {
		t.Errorf("Stop on a missing backend: %v, %v, want a no-op", p, err)
	}
	if err := d.Destroy(ctx, gone); !errors.Is(err, dispatch.ErrNoBackend) {
		t.Errorf("Destroy on a missing backend: %v, want an error (retried, never forgotten)", err)
	}
	states, err := d.Status(ctx, []*host.Workspace{{ID: "w2", Backend: "flaky"}})
	if !sdk.IsKind(err, sdk.KindTransient) || states["w2"].State != sdk.RunStateUnknown || states["w2"].Running() {
		t.Errorf("Status on an unavailable backend: %v %+v, want unknown and not running", err, states["w2"])
	}
	if _, err := d.ListManaged(ctx, "gone"); !errors.Is(err, dispatch.ErrNoBackend) {
		t.Errorf("ListManaged on a missing backend: %v", err)
	}
}

func TestUndeclaredVerbIsUnsupported(t *testing.T) {
	r, _ := mustRegistry(t)
	r.m.Capabilities = sdk.CoreCapabilities // the manifest does not declare logs
	d := newDispatcher(r)
	err := d.Logs(context.Background(), &host.Workspace{ID: "w", Backend: "fake"}, dispatch.LogsOptions{}, func([]byte) error { return nil })
	var e *sdk.Error
	if !errors.As(err, &e) || e.Kind != sdk.KindUnsupported || e.Message != `Backend "fake" does not implement logs.` {
		t.Fatalf("Logs: %v, want unsupported naming the backend", err)
	}
}

func TestTransientRetried(t *testing.T) {
	tests := map[string]struct {
		rules string
		kind  sdk.Kind
		ok    bool
	}{
		"two transient failures then success": {`[{"verb":"status","action":"fail","kind":"transient","count":2}]`, 0, true},
		"always transient":                    {`[{"verb":"status","action":"fail","kind":"transient","count":-1}]`, sdk.KindTransient, false},
		"invalid is not retried":              {`[{"verb":"status","action":"fail","kind":"invalid","count":1}]`, sdk.KindInvalid, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, state := mustRegistry(t)
			faults(t, state, tc.rules)
			d := newDispatcher(r)
			_, err := d.Status(context.Background(), []*host.Workspace{{ID: "w", Backend: "fake"}})
			if tc.ok != (err == nil) || (!tc.ok && !sdk.IsKind(err, tc.kind)) {
				t.Fatalf("Status: %v, want ok=%v kind %s", err, tc.ok, tc.kind)
			}
		})
	}
}
