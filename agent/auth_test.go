package agent_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agent"
	"github.com/molecule-ai/molecule-host/agentapi"
)

// credential is the A2A credential of the workspace whose agent token is tok.
func credential(tok string) string {
	return agentapi.A2ACredential(agentapi.TokenDigest(tok))
}

// rpcAs posts body to url with "Authorization: Bearer auth" (none when
// auth is empty) and returns the status line's code and the body.
func rpcAs(tb testing.TB, c *http.Client, url, auth, body string) string {
	tb.Helper()
	code, got := post(tb, c, url, auth, body)
	if code != http.StatusOK {
		tb.Fatalf("POST %s = %d %s, want 200", url, code, got)
	}
	return got
}

func post(tb testing.TB, c *http.Client, url, auth, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const sendPing = `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[{"kind":"text","text":"ping"}]}}}`

// TestA2AListenerRequiresHostCredential attacks the agent's A2A listener as
// anything but the host would: no credential, another workspace's, the agent
// token itself. Only the credential derived from this workspace's token
// passes; every other path (history, card, health) is closed too.
func TestA2AListenerRequiresHostCredential(t *testing.T) {
	host := mustFakeHost(t, 0)
	a, _, _ := startAgent(t, agent.Config{
		WorkspaceID: "ws-a", HostURL: host.URL, Token: "tok-a", ConfigDir: mustConfigDir(t, nil),
	})
	waitReady(t, a)
	url := "http://" + a.Addr()
	for name, auth := range map[string]string{
		"none":                     "",
		"another workspace's":      credential("tok-b"),
		"the agent token itself":   "tok-a",
		"the credential, mangled":  credential("tok-a")[1:],
		"the digest of the token":  fmt.Sprintf("%x", agentapi.TokenDigest("tok-a")),
		"a credential for a space": credential(" tok-a"),
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/", "/health", "/.well-known/agent.json"} {
				code, body := post(t, http.DefaultClient, url+path, auth, sendPing)
				if code != http.StatusUnauthorized {
					t.Fatalf("POST %s with %s credential = %d %s, want 401", path, name, code, body)
				}
			}
			req, _ := http.NewRequest(http.MethodGet, url+"/health", nil)
			if auth != "" {
				req.Header.Set("Authorization", "Bearer "+auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("GET /health = %d, want 401", resp.StatusCode)
			}
		})
	}
	if got := rpcAs(t, http.DefaultClient, url+"/", credential("tok-a"), sendPing); !strings.Contains(got, `"text":"ping"`) {
		t.Fatalf("message/send with the host's credential = %s, want the echo", got)
	}
}

// TestUnixSockets boots the agent the way a container does: the host on a
// unix socket, A2A served on another, both in one directory.
func TestUnixSockets(t *testing.T) {
	dir, err := os.MkdirTemp("", "mh-agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	host := mustFakeHost(t, 0)
	hostLn, err := net.Listen("unix", filepath.Join(dir, agentapi.HostSocket))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: host.Config.Handler}
	go srv.Serve(hostLn)
	t.Cleanup(func() { srv.Close() })

	sock := filepath.Join(dir, agentapi.AgentSocket)
	if err := os.WriteFile(sock, nil, 0o600); err != nil { // a stale file that is not a socket must not be removed
		t.Fatal(err)
	}
	// A regular file where the socket goes is not replaced: the agent
	// fails to listen (and reports it) instead.
	err = agent.New(agent.Config{
		WorkspaceID: "ws-u", ConfigDir: mustConfigDir(t, nil), FailFlushTimeout: time.Millisecond,
		ListenAddr: agentapi.UnixAddrPrefix + sock,
	}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("agent over a regular file = %v, want it to refuse to listen", err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}

	a, _, _ := startAgent(t, agent.Config{
		WorkspaceID: "ws-u", Token: "tok", ConfigDir: mustConfigDir(t, nil),
		HostURL:    agentapi.UnixURLScheme + filepath.Join(dir, agentapi.HostSocket),
		ListenAddr: agentapi.UnixAddrPrefix + sock,
	})
	waitReady(t, a)
	var ev agentapi.BootEvent
	mustDecode(t, host.next(t), agentapi.PathBootEvent, &ev) // config_applied
	mustDecode(t, host.next(t), agentapi.PathBootEvent, &ev) // runtime_started
	var reg agentapi.RegisterRequest
	c := host.next(t)
	if c.Auth != "Bearer tok" {
		t.Fatalf("register over the host socket carried %q, want the agent token", c.Auth)
	}
	mustDecode(t, c, agentapi.PathRegister, &reg)
	if reg.URL != "unix://"+sock {
		t.Fatalf("registered URL = %q, want unix://%s", reg.URL, sock)
	}
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o666 || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("agent socket = %v, %v; want a 0666 socket (the directory guards it)", st.Mode(), err)
	}
	overSocket := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	if code, _ := post(t, overSocket, "http://agent/", "", sendPing); code != http.StatusUnauthorized {
		t.Fatalf("A2A over the socket without credential = %d, want 401", code)
	}
	if got := rpcAs(t, overSocket, "http://agent/", credential("tok"), sendPing); !strings.Contains(got, `"text":"ping"`) {
		t.Fatalf("A2A over the socket = %s, want the echo", got)
	}
}

func waitReady(tb testing.TB, a *agent.Agent) {
	tb.Helper()
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		tb.Fatal("agent did not listen within 10s")
	}
}
