package pluginrpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

func TestErrorRoundTrip(t *testing.T) {
	t.Parallel()
	fields := []sdk.FieldError{{Path: "config.network", Message: "unknown network"}, {Path: "tier", Message: "must be 1-4"}}
	tests := map[string]*sdk.Error{}
	for k := sdk.KindInternal; k <= sdk.KindTransient; k++ {
		tests[k.String()] = &sdk.Error{Kind: k, Op: "start", Message: fmt.Sprintf("A %s failure.", k), Fields: fields}
	}
	tests["no fields"] = &sdk.Error{Kind: sdk.KindConflict, Op: "stop", Message: sdk.NotConfiguredMessage}
	tests["empty"] = &sdk.Error{}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backendtest.Serve(t, &stub{err: want})
			_, err := b.Start(context.Background(), &sdk.StartRequest{WorkspaceID: "ws-1"})
			var got *sdk.Error
			if !errors.As(err, &got) {
				t.Fatalf("Start error = %v (%T), want *sdk.Error", err, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error changed crossing the boundary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlainErrorBecomesInternal(t *testing.T) {
	t.Parallel()
	b := backendtest.Serve(t, &stub{err: errors.New("disk on fire")})
	_, err := b.Start(context.Background(), &sdk.StartRequest{})
	var got *sdk.Error
	if !errors.As(err, &got) {
		t.Fatalf("Start error = %v (%T), want *sdk.Error", err, err)
	}
	want := &sdk.Error{Kind: sdk.KindInternal, Op: "start", Message: "disk on fire"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plain error (-want +got):\n%s", diff)
	}
}

func TestRequestsRoundTrip(t *testing.T) {
	t.Parallel()
	b := backendtest.Serve(t, &stub{})
	ctx := context.Background()
	state := sdk.BackendState{Data: []byte("opaque"), Version: 7}
	start, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1", Name: "127.0.0.2", State: state})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&sdk.StartResponse{State: state, Address: "127.0.0.2"}, start); diff != "" {
		t.Errorf("Start response (-want +got):\n%s", diff)
	}
	st, err := b.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: "a", State: state}, {WorkspaceID: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.WorkspaceStatus{{WorkspaceID: "a", State: sdk.RunStateRunning, Detail: "opaque"}, {WorkspaceID: "b", State: sdk.RunStateRunning}}
	if diff := cmp.Diff(want, st.Statuses); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}
}

func TestCapabilitiesDerived(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		backend sdk.Backend
		want    []sdk.Capability
	}{
		"core only":      {&stub{}, sdk.CapabilitiesOf(&stub{})},
		"logs and files": {&streamer{}, sdk.CapabilitiesOf(&streamer{})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := backendtest.Serve(t, tc.backend).Manifest(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, m.Capabilities); diff != "" {
				t.Errorf("capabilities (-want +got):\n%s", diff)
			}
		})
	}
	if sdk.HasCapability(tests["core only"].want, sdk.CapLogs) || sdk.HasCapability(tests["core only"].want, sdk.CapExec) {
		t.Fatal("stub claims an optional verb it lacks")
	}
}

func TestMissingOptionalVerbIsUnsupported(t *testing.T) {
	t.Parallel()
	b := backendtest.Serve(t, &stub{})
	ctx := context.Background()
	calls := map[string]func() error{
		"logs": func() error {
			return b.(sdk.LogStreamer).Logs(ctx, &sdk.LogsRequest{}, func(*sdk.LogChunk) error { return nil })
		},
		"files": func() error {
			_, err := b.(sdk.Filer).ListFiles(ctx, &sdk.ListFilesRequest{})
			return err
		},
		"exec": func() error { return b.(sdk.Execer).Exec(ctx, &sdk.ExecRequest{}, nopExec{}) },
	}
	for verb, call := range calls {
		err := call()
		if !sdk.IsKind(err, sdk.KindUnsupported) {
			t.Errorf("%s: error = %v, want KindUnsupported", verb, err)
			continue
		}
		if want := fmt.Sprintf("backend %q does not implement %s", "stub", verb); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error = %q, want it to contain %q", verb, err, want)
		}
	}
}

type nopExec struct{}

func (nopExec) Recv() (*sdk.ExecInput, error) { return nil, io.EOF }
func (nopExec) Send(*sdk.ExecOutput) error    { return nil }

func TestLogsStream(t *testing.T) {
	t.Parallel()
	lines := []string{"starting\n", "config applied\n", "agent registered\n"}
	b := backendtest.Serve(t, &streamer{lines: lines})
	var got []string
	err := b.(sdk.LogStreamer).Logs(context.Background(), &sdk.LogsRequest{WorkspaceID: "ws-1"}, func(c *sdk.LogChunk) error {
		if c.Stream != "console" {
			t.Errorf("chunk stream = %q, want console", c.Stream)
		}
		got = append(got, string(c.Data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lines, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

func TestFilesStream(t *testing.T) {
	t.Parallel()
	content := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+5) // > 3 MiB: several chunks
	s := &streamer{content: content, written: make(chan []byte, 1)}
	f := backendtest.Serve(t, s).(sdk.Filer)
	ctx := context.Background()

	var got []byte
	chunks := 0
	err := f.ReadFile(ctx, &sdk.ReadFileRequest{WorkspaceID: "ws-1", Path: "big"}, func(b []byte) error {
		if len(b) > 1<<20 {
			t.Errorf("chunk of %d bytes exceeds 1 MiB", len(b))
		}
		chunks++
		got = append(got, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) || chunks < 4 {
		t.Fatalf("ReadFile got %d bytes in %d chunks, want %d bytes in >= 4", len(got), chunks, len(content))
	}

	r := bytes.NewReader(content)
	resp, err := f.WriteFile(ctx, &sdk.WriteFileRequest{WorkspaceID: "ws-1", Path: "big"}, func() ([]byte, error) {
		buf := make([]byte, 700<<10)
		n, err := r.Read(buf)
		return buf[:n], err
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Size != int64(len(content)) || !bytes.Equal(<-s.written, content) {
		t.Fatalf("WriteFile size = %d, want %d, or content differs", resp.Size, len(content))
	}
}
