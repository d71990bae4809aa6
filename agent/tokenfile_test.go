package agent_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agent"
	"github.com/molecule-ai/molecule-host/agentapi"
)

func TestConfigFromEnvTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, empty := write("token", "tok-from-file\n"), write("empty", " \n")
	for name, tc := range map[string]struct {
		file, want string
		fails      bool
	}{
		"file wins over the variable": {file: good, want: "tok-from-file"},
		"empty file":                  {file: empty, fails: true},
		"missing file":                {file: filepath.Join(dir, "none"), fails: true},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{agentapi.EnvToken: "tok-from-env", agentapi.EnvTokenFile: tc.file}
			c, err := agent.ConfigFromEnv(func(k string) string { return env[k] })
			if tc.fails {
				if err == nil || !strings.Contains(err.Error(), agentapi.EnvTokenFile) {
					t.Fatalf("ConfigFromEnv = %v, want an error naming %s", err, agentapi.EnvTokenFile)
				}
				return
			}
			if err != nil || c.Token != tc.want || c.TokenFile != tc.file {
				t.Fatalf("ConfigFromEnv = token %q file %q (%v), want %q from %s", c.Token, c.TokenFile, err, tc.want, tc.file)
			}
			// Read once, the token lives only in the agent's memory: no
			// other process of the workspace's user finds it on disk.
			if _, err := os.Stat(tc.file); !os.IsNotExist(err) {
				t.Fatalf("token file after reading: %v, want removed", err)
			}
		})
	}
}

// mustTokenHost is a fake host that accepts calls only with its current
// token (setToken changes it).
func mustTokenHost(tb testing.TB, token string) *fakeHost {
	tb.Helper()
	h := mustFakeHost(tb, 0)
	h.setToken(token)
	return h
}

func (h *fakeHost) setToken(tok string) {
	h.mu.Lock()
	h.token = tok
	h.mu.Unlock()
}

// waitPaths waits until the host has accepted a call on each of paths
// (failing after 10s) and returns the calls it accepted meanwhile.
func (h *fakeHost) waitPaths(tb testing.TB, paths ...string) []call {
	tb.Helper()
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	var got []call
	deadline := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case c := <-h.calls:
			got = append(got, c)
			delete(want, c.Path)
		case <-deadline:
			tb.Fatalf("no accepted call on %v within 10s", want)
		}
	}
	return got
}

// TestTokenFileRenewal: when the host starts a workspace again without
// restarting its agent (Docker keeps a running container), it replaces the
// token in the agent's token file and refuses the old one. The running
// agent then reads the new token, announces itself again (boot events and
// register, which the host waits for), keeps heartbeating, and accepts
// only the new token's A2A credential.
func TestTokenFileRenewal(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), agentapi.TokenFile)
	if err := os.WriteFile(tokenFile, []byte("tok-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := mustTokenHost(t, "tok-1")
	a, _, _ := startAgent(t, agent.Config{
		WorkspaceID: "ws-r", HostURL: host.URL, Token: "tok-1", TokenFile: tokenFile,
		ConfigDir: mustConfigDir(t, nil), HeartbeatInterval: 20 * time.Millisecond,
	})
	waitReady(t, a)
	host.waitPaths(t, agentapi.PathRegister, agentapi.PathHeartbeat)
	url := "http://" + a.Addr()
	rpcAs(t, http.DefaultClient, url, credential("tok-1"), sendPing)

	if err := os.WriteFile(tokenFile, []byte("tok-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host.setToken("tok-2")
	// The host accepts only tok-2 now: each call below carried it.
	var phases []string
	for _, c := range host.waitPaths(t, agentapi.PathBootEvent, agentapi.PathRegister, agentapi.PathHeartbeat) {
		if c.Path == agentapi.PathBootEvent {
			var ev agentapi.BootEvent
			if err := json.Unmarshal(c.Body, &ev); err != nil {
				t.Fatal(err)
			}
			phases = append(phases, ev.Phase)
		}
	}
	if len(phases) == 0 || phases[0] != agentapi.PhaseConfigApplied {
		t.Fatalf("boot events after the renewal = %v, want config_applied first", phases)
	}
	if got := rpcAs(t, http.DefaultClient, url, credential("tok-2"), sendPing); !strings.Contains(got, `"text":"ping"`) {
		t.Fatalf("A2A with the new token's credential = %s", got)
	}
	if code, body := post(t, http.DefaultClient, url, credential("tok-1"), sendPing); code != http.StatusUnauthorized {
		t.Fatalf("A2A with the old token's credential = %d %s, want 401", code, body)
	}
}
