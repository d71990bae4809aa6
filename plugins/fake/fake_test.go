package fake_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/backendtest"
)

func TestManifestValid(t *testing.T) {
	t.Parallel()
	b := backendtest.Serve(t, fake.New())
	m, err := b.Manifest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	for id := range sdk.FeatureNeeds {
		if _, ok := m.Features[id]; !ok {
			t.Errorf("feature %s not declared", id)
		}
	}
	if got := m.Features[sdk.FeatureConfigDelivery].Attributes[sdk.AttrConfigDelivery]; got != "sync" {
		t.Errorf("config_delivery = %q, want sync", got)
	}
}

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	b := backendtest.Serve(t, fake.New())
	ctx := context.Background()
	calls := map[string]func() error{
		"start":        func() error { _, err := b.Start(ctx, startReq("ws-1", "http://127.0.0.1:1")); return err },
		"stop":         func() error { _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-1"}); return err },
		"destroy":      func() error { _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "ws-1"}); return err },
		"status":       func() error { _, err := b.Status(ctx, &sdk.StatusRequest{}); return err },
		"list_managed": func() error { _, err := b.ListManaged(ctx, &sdk.ListManagedRequest{}); return err },
		"logs": func() error {
			return b.(sdk.LogStreamer).Logs(ctx, &sdk.LogsRequest{WorkspaceID: "ws-1"}, func(*sdk.LogChunk) error { return nil })
		},
	}
	for op, call := range calls {
		var got *sdk.Error
		if err := call(); !errors.As(err, &got) {
			t.Errorf("%s: error = %v, want *sdk.Error", op, err)
			continue
		}
		if diff := cmp.Diff(sdk.NotConfigured(op), got); diff != "" {
			t.Errorf("%s before Configure (-want +got):\n%s", op, diff)
		}
	}
}

func TestConfigureInvalid(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		config map[string]string
		paths  []string
	}{
		"missing state_dir": {map[string]string{}, []string{"state_dir"}},
		"relative path":     {map[string]string{"state_dir": "rel/dir"}, []string{"state_dir"}},
		"unknown key":       {map[string]string{"state_dir": "/tmp/x", "colour": "blue"}, []string{"colour"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := backendtest.Serve(t, fake.New()).Configure(context.Background(), &sdk.ConfigureRequest{Config: tc.config})
			var e *sdk.Error
			if !errors.As(err, &e) || e.Kind != sdk.KindInvalid {
				t.Fatalf("error = %v, want KindInvalid", err)
			}
			var paths []string
			for _, f := range e.Fields {
				paths = append(paths, f.Path)
			}
			if diff := cmp.Diff(tc.paths, paths); diff != "" {
				t.Errorf("field paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartIsIdempotent(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	b, _, _ := mustFake(t)
	ctx := context.Background()
	for range 2 {
		resp, err := b.Start(ctx, startReq("ws-1", reg.URL))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Address != "127.0.0.1" {
			t.Errorf("address = %q, want 127.0.0.1", resp.Address)
		}
	}
	list, err := b.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Workspaces) != 1 || list.Workspaces[0].WorkspaceID != "ws-1" || list.Workspaces[0].State != sdk.RunStateRunning {
		t.Fatalf("ListManaged = %+v, want ws-1 running only", list.Workspaces)
	}
	if st := statusOf(t, b, "ws-1"); st.State != sdk.RunStateRunning || st.Detail != "boot 1" {
		t.Fatalf("status = %+v, want running, boot 1", st)
	}
	waitFor(t, "register", func() bool { return reg.count(agentapi.PathRegister) >= 1 })
	waitFor(t, "heartbeats", func() bool { return reg.count(agentapi.PathHeartbeat) >= 3 })
	reg.mu.Lock()
	defer reg.mu.Unlock()
	want := agentapi.ConfigHash(startReq("ws-1", "").ConfigFiles)
	if ev := reg.boot[0]; ev.Phase != agentapi.PhaseConfigApplied || ev.ConfigHash != want || ev.WorkspaceID != "ws-1" {
		t.Errorf("first boot event = %+v, want config_applied with hash %s", ev, want)
	}
	if len(reg.tokens) != 1 || !reg.tokens["Bearer tok-ws-1"] {
		t.Errorf("tokens seen = %v, want only Bearer tok-ws-1", reg.tokens)
	}
	if !strings.HasPrefix(reg.reg[0].URL, "http://127.0.0.1:") {
		t.Errorf("registered URL = %q, want http://127.0.0.1:<port>", reg.reg[0].URL)
	}
}

func TestStopDestroyUnknownSucceed(t *testing.T) {
	t.Parallel()
	b, _, _ := mustFake(t)
	ctx := context.Background()
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "nope"}); err != nil {
		t.Errorf("Stop unknown: %v", err)
	}
	if _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "nope"}); err != nil {
		t.Errorf("Destroy unknown: %v", err)
	}
	if st := statusOf(t, b, "nope"); st.State != sdk.RunStateMissing {
		t.Errorf("status of unknown = %s, want missing", st.State)
	}
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "../escape"}); !sdk.IsKind(err, sdk.KindInvalid) {
		t.Errorf("Stop with a path as id: error = %v, want KindInvalid", err)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	b, dir, _ := mustFake(t)
	ctx := context.Background()
	if _, err := b.Start(ctx, startReq("ws-1", reg.URL)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-1"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := statusOf(t, b, "ws-1"); st.State != sdk.RunStateStopped {
		t.Fatalf("after Stop: %s, want stopped", st.State)
	}
	if _, err := b.Start(ctx, startReq("ws-1", reg.URL)); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, b, "ws-1"); st.State != sdk.RunStateRunning || st.Detail != "boot 2" {
		t.Fatalf("after restart: %+v, want running, boot 2", st)
	}
	records, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if want := []string{filepath.Join(dir, "workspace-ws-1.json")}; !cmp.Equal(want, records) {
		t.Fatalf("records on disk = %v, want %v", records, want)
	}
	if _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "ws-1"}); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, b, "ws-1"); st.State != sdk.RunStateMissing {
		t.Fatalf("after Destroy: %s, want missing", st.State)
	}
	list, err := b.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil || len(list.Workspaces) != 0 {
		t.Fatalf("ListManaged after Destroy = %+v, %v; want none", list, err)
	}
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	b, _, _ := mustFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.(sdk.LogStreamer).Logs(ctx, &sdk.LogsRequest{WorkspaceID: "ws-1"}, func(*sdk.LogChunk) error { return nil }); !sdk.IsKind(err, sdk.KindNotFound) {
		t.Fatalf("Logs of unknown workspace: error = %v, want KindNotFound", err)
	}
	if _, err := b.Start(ctx, startReq("ws-1", reg.URL)); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := b.(sdk.LogStreamer).Logs(ctx, &sdk.LogsRequest{WorkspaceID: "ws-1", Follow: true}, func(c *sdk.LogChunk) error {
		got = append(got, strings.TrimSpace(string(c.Data)))
		if strings.Contains(got[len(got)-1], "register: delivered to host") {
			return errors.New("seen enough")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "seen enough") {
		t.Fatalf("Logs follow ended with %v after %q, want the callback's error", err, got)
	}
	// The fake's own line, then the real agent's boot log, in order.
	hash := agentapi.ConfigHash(startReq("", "").ConfigFiles)
	want := []string{"starting workspace ws-1", "config applied: 1 files, hash " + hash, "register: delivered to host"}
	i := 0
	for _, line := range got {
		if i < len(want) && strings.Contains(line, want[i]) {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("boot log %q lacks, in order, %q", got, want[i:])
	}
}

// TestStateDirDefaultsToDataDir: with no state_dir the fake uses the data
// dir the host gives every plugin. Not parallel: it sets the environment.
func TestStateDirDefaultsToDataDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(sdk.EnvDataDir, dir)
	raw := fake.New()
	t.Cleanup(func() { raw.Close() })
	b := backendtest.Serve(t, raw)
	if _, err := b.Configure(context.Background(), &sdk.ConfigureRequest{Config: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stop(context.Background(), &sdk.StopRequest{WorkspaceID: "ws-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "agents.lock")); err != nil {
		t.Fatalf("agents lock not in the data dir: %v", err)
	}
}
