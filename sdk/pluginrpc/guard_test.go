package pluginrpc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

// rogueStub panics in, or returns nil replies from, the verbs it is told to.
type rogueStub struct {
	stub
	panicIn, nilIn string
}

func (r *rogueStub) Manifest(ctx context.Context) (*sdk.Manifest, error) {
	if r.nilIn == "manifest" {
		return nil, nil
	}
	return r.stub.Manifest(ctx)
}

func (r *rogueStub) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	if r.panicIn == "start" {
		panic("boom")
	}
	return nil, nil
}

func (r *rogueStub) Stop(context.Context, *sdk.StopRequest) (*sdk.StopResponse, error) {
	return nil, nil
}

func (r *rogueStub) Status(context.Context, *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	if r.panicIn == "status" {
		var ids []string
		_ = ids[len(ids)] // a runtime error, not a panic(string)
	}
	return nil, nil
}

func (r *rogueStub) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return nil, nil
}

func (r *rogueStub) Logs(context.Context, *sdk.LogsRequest, func(*sdk.LogChunk) error) error {
	panic("stream boom")
}

func wantInternal(t *testing.T, what string, err error, op, msg string) {
	t.Helper()
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindInternal || se.Op != op || !strings.HasPrefix(se.Message, msg) {
		t.Errorf("%s: error = %v, want KindInternal op %s message starting %q", what, err, op, msg)
	}
}

func TestPanicInVerbBecomesInternal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := backendtest.Serve(t, &rogueStub{panicIn: "start"})
	_, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1"})
	wantInternal(t, "Start", err, "start", "backend panicked in Start: boom")

	b = backendtest.Serve(t, &rogueStub{panicIn: "status"})
	_, err = b.Status(ctx, &sdk.StatusRequest{})
	wantInternal(t, "Status", err, "status", "backend panicked in Status: runtime error: index out of range [0] with length 0")

	err = b.(sdk.LogStreamer).Logs(ctx, &sdk.LogsRequest{}, func(*sdk.LogChunk) error { return nil })
	wantInternal(t, "Logs", err, "logs", "backend panicked in Logs: stream boom")
	// The server survived every panic.
	if _, err := b.Manifest(ctx); err != nil {
		t.Errorf("Manifest after the panics: %v", err)
	}
}

func TestNilReplyBecomesInternal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := backendtest.Serve(t, &rogueStub{})
	calls := map[string]func() error{
		"Start": func() error { _, err := b.Start(ctx, &sdk.StartRequest{}); return err },
		"Stop":  func() error { _, err := b.Stop(ctx, &sdk.StopRequest{}); return err },
		"Status": func() error {
			_, err := b.Status(ctx, &sdk.StatusRequest{})
			return err
		},
		"ListManaged": func() error {
			_, err := b.ListManaged(ctx, &sdk.ListManagedRequest{})
			return err
		},
	}
	for verb, call := range calls {
		op := map[string]string{"Start": "start", "Stop": "stop", "Status": "status", "ListManaged": "list_managed"}[verb]
		wantInternal(t, verb, call(), op, "backend returned neither a reply nor an error from "+verb)
	}
	_, err := backendtest.Serve(t, &rogueStub{nilIn: "manifest"}).Manifest(ctx)
	wantInternal(t, "Manifest", err, "manifest", "backend returned neither a reply nor an error from Manifest")
}

// TestRoguePluginProcessSurvives runs testdata/rogue as a real plugin
// process: a panic in Start and a nil reply from Start each answer an
// internal error, and the same process keeps serving.
func TestRoguePluginProcessSurvives(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(sdk.EnvDataDir, dir)
	behave := func(json string) {
		if err := os.WriteFile(filepath.Join(dir, "rogue.json"), []byte(json), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, b := mustLaunch(t, rogueBin)
	ctx := context.Background()
	behave(`{"panic_start":true}`)
	_, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1"})
	wantInternal(t, "panicking Start", err, "start", "backend panicked in Start: rogue panic in start of ws-1")
	behave(`{"nil_start":true}`)
	_, err = b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-2"})
	wantInternal(t, "nil Start", err, "start", "backend returned neither a reply nor an error from Start")
	behave(`{}`)
	if _, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-3"}); err != nil || c.Exited() {
		t.Fatalf("Start on the same process afterwards: %v (exited %v)", err, c.Exited())
	}
}
