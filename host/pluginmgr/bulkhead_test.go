package pluginmgr_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/pluginmgr"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// startWithin runs m.Start and fails the test unless it returns within d.
func startWithin(t *testing.T, m *pluginmgr.Manager, d time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.Start(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(d):
		t.Fatalf("Start did not return within %s", d)
	}
}

func TestFirstLaunchBounded(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	env.addRogue(t, "molecule-backend-hangcfg", `{"hang_configure": true}`)
	env.addRogue(t, "molecule-backend-hangman", `{"hang_manifest": true}`)
	cfg := env.config(nil)
	cfg.LaunchTimeout = 2 * time.Second
	cfg.CoolDown = time.Hour
	m := pluginmgr.New(cfg)
	t.Cleanup(m.Close)
	startWithin(t, m, 20*time.Second)

	for name, want := range map[string]string{
		"hangcfg": "molecule-backend-hangcfg: Configure did not answer within 2s; next attempt in 1h0m0s",
		"hangman": "molecule-backend-hangman: Manifest did not answer within 2s; next attempt in 1h0m0s",
	} {
		if in := infoOf(t, m, name); in.State != pluginmgr.StateUnavailable || in.Reason != want {
			t.Errorf("%s Info = %+v, want unavailable with reason %q", name, in, want)
		}
		if _, _, err := m.Backend(name); !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "did not answer") {
			t.Errorf("Backend(%s) = %v, want KindTransient with the reason", name, err)
		}
	}
	b, _ := mustBackend(t, m, "fake")
	if err := statusCall(ctxTimeout(t, 10*time.Second), b); err != nil {
		t.Errorf("fake next to hung plugins: %v", err)
	}
}

func TestHalfOpenAfterCrashLoop(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	cfg := env.config(nil)
	cfg.CrashLoopLimit = 2
	cfg.RestartBackoff = 20 * time.Millisecond
	cfg.CoolDown = 300 * time.Millisecond
	m := mustStart(t, cfg)
	b, _ := mustBackend(t, m, "fake")
	mustWrite(t, env.faults, `[{"verb":"status","action":"crash","count":-1}]`, 0o644)
	waitFor(t, "crash loop detected", 30*time.Second, func() bool {
		_ = statusCall(ctxTimeout(t, 20*time.Second), b)
		return infoOf(t, m, "fake").State == pluginmgr.StateUnavailable
	})
	if in := infoOf(t, m, "fake"); !strings.Contains(in.Reason, "crashed 2 times in 1m0s") || !strings.HasSuffix(in.Reason, "; next attempt in 300ms") {
		t.Errorf("Info = %+v, want the crash loop and the next attempt in the reason", in)
	}
	if err := os.Remove(env.faults); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fake running again after the cool-down", 20*time.Second, func() bool {
		return infoOf(t, m, "fake").State == pluginmgr.StateRunning
	})
	if err := statusCall(ctxTimeout(t, 10*time.Second), b); err != nil {
		t.Errorf("Status on the old handle after the half-open launch: %v", err)
	}
	if _, _, err := m.Backend("fake"); err != nil {
		t.Errorf("Backend(fake) after the half-open launch: %v", err)
	}
}

func TestHalfOpenCoolDownDoubles(t *testing.T) {
	env := mustPluginDir(t)
	env.addRogue(t, "molecule-backend-rogue", `{"hang_configure": true}`)
	cfg := env.config(nil)
	cfg.LaunchTimeout = time.Second
	cfg.CoolDown = 100 * time.Millisecond
	cfg.MaxCoolDown = 400 * time.Millisecond
	m := pluginmgr.New(cfg)
	t.Cleanup(m.Close)
	startWithin(t, m, 20*time.Second)
	if in := infoOf(t, m, "rogue"); !strings.HasSuffix(in.Reason, " did not answer within 1s; next attempt in 100ms") {
		t.Fatalf("Info after the first launch = %+v, want the hang and the first cool-down", in)
	}
	waitFor(t, "the cool-down doubled to its cap", 20*time.Second, func() bool {
		return strings.HasSuffix(infoOf(t, m, "rogue").Reason, "next attempt in 400ms")
	})
	env.behave(t, "molecule-backend-rogue", `{}`)
	waitFor(t, "rogue running once it behaves", 20*time.Second, func() bool {
		return infoOf(t, m, "rogue").State == pluginmgr.StateRunning
	})
}

// TestImpostorCannotClaimName: a binary sorted before the real one that
// declares its name is refused, never configured, and never retried.
func TestImpostorCannotClaimName(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-aaa", "molecule-backend-fake")
	cfg := env.config(nil)
	cfg.CoolDown = 10 * time.Millisecond
	m := mustStart(t, cfg)
	in := infoOf(t, m, "aaa")
	want := `molecule-backend-aaa declares backend "fake", but its file name binds it to backend "aaa"`
	if in.State != pluginmgr.StateUnavailable || !strings.Contains(in.Reason, want) || strings.Contains(in.Reason, "next attempt") {
		t.Errorf("impostor Info = %+v, want unavailable for good, reason %q", in, want)
	}
	if fake := infoOf(t, m, "fake"); fake.State != pluginmgr.StateRunning || !strings.HasSuffix(fake.Path, "/molecule-backend-fake") {
		t.Errorf("fake Info = %+v, want the real binary running", fake)
	}
}

// TestBadRequestsDoNotRestartPlugin: a panic, a nil reply, an oversized
// reply and an oversized error each fail their call only.
func TestBadRequestsDoNotRestartPlugin(t *testing.T) {
	env := mustPluginDir(t)
	env.addRogue(t, "molecule-backend-rogue", `{"panic_start": true}`)
	m := mustStart(t, env.config(nil))
	b, _ := mustBackend(t, m, "rogue")
	pid := infoOf(t, m, "rogue").PID
	ctx := ctxTimeout(t, 20*time.Second)
	for range 6 {
		if _, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1"}); !sdk.IsKind(err, sdk.KindInternal) || !strings.Contains(err.Error(), "backend panicked in Start") {
			t.Fatalf("panicking Start = %v, want KindInternal naming the panic", err)
		}
	}
	env.behave(t, "molecule-backend-rogue", `{"nil_start": true}`)
	if _, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1"}); !sdk.IsKind(err, sdk.KindInternal) {
		t.Errorf("nil Start = %v, want KindInternal", err)
	}
	env.behave(t, "molecule-backend-rogue", `{"start_address": 5242880, "stop_error": 3145728}`)
	_, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "ws-1"})
	if !sdk.IsKind(err, sdk.KindInternal) || !errors.Is(err, pluginrpc.ErrReplyTooLarge) || !strings.Contains(err.Error(), `Backend "rogue" sent a start reply larger than the 4 MiB limit`) {
		t.Errorf("oversized Start = %v, want KindInternal naming the backend, verb and limit", err)
	}
	_, err = b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-1"})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindConflict || len(se.Message) > pluginrpc.MaxErrorMessage {
		t.Errorf("Stop with a 3 MiB error: %d-byte message, kind %v, want the conflict cut to %d bytes", len(errString(err)), sdk.KindOf(err), pluginrpc.MaxErrorMessage)
	}
	if in := infoOf(t, m, "rogue"); in.State != pluginmgr.StateRunning || in.Restarts != 0 || in.PID != pid {
		t.Errorf("Info = %+v, want the same process (%d) running, no restart", in, pid)
	}
}

// TestPluginExitSurfaces: a call whose plugin exits under it, with no
// restart to retry on, fails with an error wrapping ErrPluginExited.
func TestPluginExitSurfaces(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	cfg := env.config(nil)
	cfg.CrashLoopLimit = 1
	m := mustStart(t, cfg)
	b, _ := mustBackend(t, m, "fake")
	mustWrite(t, env.faults, `[{"verb":"status","action":"crash","count":1}]`, 0o644)
	err := statusCall(ctxTimeout(t, 20*time.Second), b)
	if !errors.Is(err, pluginmgr.ErrPluginExited) || !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "The backend plugin exited during the call; backend fake is unavailable: crashed 1 times") {
		t.Errorf("Status that crashed the plugin = %v, want KindTransient wrapping ErrPluginExited with the reason", err)
	}
}
