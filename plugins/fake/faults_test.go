package fake_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// fakeBin is the real plugin binary, built once by TestMain, for the
// crash fault (which exits the process).
var fakeBin string

func TestMain(m *testing.M) {
	plugintest.RunWithBinary(m, "./cmd/molecule-backend-fake", &fakeBin)
}

func faultCount(tb testing.TB, dir string) int {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "faults.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var rules []struct{ Count int }
	if err := json.Unmarshal(data, &rules); err != nil {
		tb.Fatal(err)
	}
	return rules[0].Count
}

func TestFaultFail(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	b, dir, _ := mustFake(t)
	mustFaults(t, dir, `[{"verb":"start","action":"fail","kind":"transient","message":"Injected outage.","count":1}]`)
	_, err := b.Start(context.Background(), startReq("ws-1", reg.URL))
	want := &sdk.Error{Kind: sdk.KindTransient, Op: "start", Message: "Injected outage."}
	var got *sdk.Error
	if !errors.As(err, &got) || got.Error() != want.Error() {
		t.Fatalf("Start error = %v, want %v", err, want)
	}
	if n := faultCount(t, dir); n != 0 {
		t.Errorf("count after firing = %d, want 0", n)
	}
	if _, err := b.Start(context.Background(), startReq("ws-1", reg.URL)); err != nil {
		t.Fatalf("second Start (rule spent): %v", err)
	}
}

func TestFaultForeverAndInvalid(t *testing.T) {
	t.Parallel()
	b, dir, _ := mustFake(t)
	ctx := context.Background()
	mustFaults(t, dir, `[{"verb":"status","action":"fail","kind":"quota","count":-1}]`)
	for range 3 {
		if _, err := b.Status(ctx, &sdk.StatusRequest{}); !sdk.IsKind(err, sdk.KindQuota) {
			t.Fatalf("Status error = %v, want KindQuota every time", err)
		}
	}
	if n := faultCount(t, dir); n != -1 {
		t.Errorf("count = %d, want -1 kept", n)
	}
	mustFaults(t, dir, `[{"verb":"status","action":"explode","count":1}]`)
	if _, err := b.Status(ctx, &sdk.StatusRequest{}); !sdk.IsKind(err, sdk.KindInvalid) {
		t.Fatalf("bad action: error = %v, want KindInvalid", err)
	}
}

func TestFaultHang(t *testing.T) {
	t.Parallel()
	b, dir, _ := mustFake(t)
	mustFaults(t, dir, `[{"verb":"stop","action":"hang","count":1}]`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-1"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung Stop error = %v, want one wrapping context.DeadlineExceeded", err)
	}
}

func TestFaultSlow(t *testing.T) {
	t.Parallel()
	b, dir, _ := mustFake(t)
	mustFaults(t, dir, `[{"verb":"destroy","action":"slow","delay":"300ms","count":1}]`)
	begin := time.Now()
	if _, err := b.Destroy(context.Background(), &sdk.DestroyRequest{WorkspaceID: "ws-1"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Fatalf("slow Destroy took %v, want >= 300ms", d)
	}
}

// TestFaultCrashOnce runs the real plugin: the crash kills the process,
// the decremented count survives it, and a relaunched plugin starts.
func TestFaultCrashOnce(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	dir := t.TempDir()
	mustFaults(t, dir, `[{"verb":"start","action":"crash","count":1}]`)
	b := mustLaunch(t)
	mustConfigure(t, b, dir)
	_, err := b.Start(context.Background(), startReq("ws-1", reg.URL))
	if !errors.Is(err, pluginrpc.ErrPluginUnavailable) || !sdk.IsKind(err, sdk.KindTransient) {
		t.Fatalf("Start with crash fault: error = %v, want KindTransient wrapping ErrPluginUnavailable", err)
	}
	if n := faultCount(t, dir); n != 0 {
		t.Fatalf("count after crash = %d, want 0", n)
	}
	b = mustLaunch(t)
	mustConfigure(t, b, dir)
	if _, err := b.Start(context.Background(), startReq("ws-1", reg.URL)); err != nil {
		t.Fatalf("Start after relaunch: %v", err)
	}
	if st := statusOf(t, b, "ws-1"); st.State != sdk.RunStateRunning {
		t.Fatalf("status after relaunch = %s, want running", st.State)
	}
}

func mustLaunch(tb testing.TB) sdk.Backend {
	tb.Helper()
	_, b := plugintest.Launch(tb, fakeBin)
	return b
}

// TestFaultPanic runs the real plugin: a panic in a verb is answered as a
// KindInternal error naming the verb, and the same process keeps serving.
func TestFaultPanic(t *testing.T) {
	t.Parallel()
	reg := mustRegistry(t)
	dir := t.TempDir()
	mustFaults(t, dir, `[{"verb":"start","action":"panic","count":1}]`)
	b := mustLaunch(t)
	mustConfigure(t, b, dir)
	_, err := b.Start(context.Background(), startReq("ws-1", reg.URL))
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindInternal || se.Op != "start" ||
		se.Message != "backend panicked in Start: injected start panic" {
		t.Fatalf("Start with panic fault: error = %v, want KindInternal \"backend panicked in Start: injected start panic\"", err)
	}
	if _, err := b.Start(context.Background(), startReq("ws-1", reg.URL)); err != nil {
		t.Fatalf("Start after the panic, same process: %v", err)
	}
}
