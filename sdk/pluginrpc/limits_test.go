package pluginrpc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// bigStub answers Status with one status whose Detail has detail bytes,
// Start with an address of address bytes, and Stop with err.
type bigStub struct {
	stub
	detail, address int
	err             error
}

func (s *bigStub) Status(_ context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	return &sdk.StatusResponse{Statuses: []sdk.WorkspaceStatus{{WorkspaceID: "a", State: sdk.RunStateRunning, Detail: strings.Repeat("d", s.detail)}}}, nil
}

func (s *bigStub) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	return &sdk.StartResponse{Address: strings.Repeat("a", s.address)}, nil
}

func (s *bigStub) Stop(context.Context, *sdk.StopRequest) (*sdk.StopResponse, error) {
	return nil, s.err
}

func wantTooLarge(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindInternal || !errors.Is(err, pluginrpc.ErrReplyTooLarge) || se.Message != msg {
		t.Errorf("%s: error = %v, want KindInternal wrapping ErrReplyTooLarge with message %q", what, err, msg)
	}
}

func TestOversizedReplyRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := backendtest.Serve(t, &bigStub{detail: pluginrpc.MaxBatchReply + 1, address: pluginrpc.MaxReply + 1})
	if _, err := b.Manifest(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := b.Status(ctx, &sdk.StatusRequest{})
	wantTooLarge(t, "Status", err, `Backend "stub" sent a status reply larger than the 64 MiB limit; the host refused it.`)
	_, err = b.Start(ctx, &sdk.StartRequest{})
	wantTooLarge(t, "Start", err, `Backend "stub" sent a start reply larger than the 4 MiB limit; the host refused it.`)

	// Under the limits: a 10 MiB status batch and a 3 MiB start reply pass;
	// a status Detail, a reason users may see, is cut like an error message.
	b = backendtest.Serve(t, &bigStub{detail: 10 << 20, address: 3 << 20})
	st, err := b.Status(ctx, &sdk.StatusRequest{})
	if err != nil {
		t.Errorf("10 MiB Status: %v", err)
	} else if d := st.Statuses[0].Detail; len(d) > pluginrpc.MaxErrorMessage || !strings.HasSuffix(d, " bytes truncated]") {
		t.Errorf("Status Detail of %d bytes, want it cut to %d with a marker", len(d), pluginrpc.MaxErrorMessage)
	}
	if _, err := b.Start(ctx, &sdk.StartRequest{}); err != nil {
		t.Errorf("3 MiB Start: %v", err)
	}
}

func TestErrorCapped(t *testing.T) {
	t.Parallel()
	huge := &sdk.Error{Kind: sdk.KindConflict, Op: "stop", Message: strings.Repeat("m", 3<<20)}
	for i := range 1000 {
		huge.Fields = append(huge.Fields, sdk.FieldError{Path: fmt.Sprintf("f%d", i), Message: strings.Repeat("x", 8<<10)})
	}
	_, err := backendtest.Serve(t, &bigStub{err: huge}).Stop(context.Background(), &sdk.StopRequest{})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindConflict || se.Op != "stop" {
		t.Fatalf("Stop error = %v, want the backend's KindConflict, cut", err)
	}
	if !strings.HasSuffix(se.Message, " bytes truncated]") || len(se.Message) > pluginrpc.MaxErrorMessage || len(se.Message) < pluginrpc.MaxErrorMessage-64 {
		t.Errorf("message of %d bytes ends %q, want %d bytes and a truncation marker", len(se.Message), se.Message[max(0, len(se.Message)-40):], pluginrpc.MaxErrorMessage)
	}
	if n := len(se.Fields); n != pluginrpc.MaxErrorFields || se.Fields[n-1].Message != "969 more fields truncated" {
		t.Fatalf("got %d fields, want %d ending with a marker", len(se.Fields), pluginrpc.MaxErrorFields)
	}
	if f := se.Fields[0]; f.Path != "f0" || len(f.Message) > pluginrpc.MaxErrorMessage || !strings.Contains(f.Message, "bytes truncated]") {
		t.Errorf("first field = %s with a %d-byte message, want f0 cut to about %d bytes", f.Path, len(f.Message), pluginrpc.MaxErrorMessage)
	}
	if n := len(err.Error()); n > 200<<10 {
		t.Errorf("error string is %d bytes, want it bounded", n)
	}
}

// TestRoguePluginOversizedReply checks the per-verb limit on a real
// go-plugin connection, whose own default limit is 2 GiB.
func TestRoguePluginOversizedReply(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(sdk.EnvDataDir, dir)
	if err := os.WriteFile(filepath.Join(dir, "rogue.json"), []byte(`{"start_address": 5242880}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, b := mustLaunch(t, rogueBin)
	ctx := context.Background()
	if _, err := b.Manifest(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1"})
	wantTooLarge(t, "Start", err, `Backend "rogue" sent a start reply larger than the 4 MiB limit; the host refused it.`)
}
