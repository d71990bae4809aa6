package agentsock_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host/agentsock"
)

// mustServer returns a Server whose handler answers with the workspace id
// of the socket a request arrived on.
func mustServer(tb testing.TB) *agentsock.Server {
	tb.Helper()
	root, err := os.MkdirTemp("", "mhsock")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(root) })
	s, err := agentsock.New(filepath.Join(root, "agents"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := agentsock.WorkspaceID(r.Context())
		io.WriteString(w, id)
	}), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func get(tb testing.TB, sock string) (string, error) {
	tb.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://host/registry/heartbeat")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestOpenServesEachWorkspaceOnItsOwnSocket(t *testing.T) {
	s := mustServer(t)
	for _, id := range []string{"ws-a", "ws-b"} {
		dir, err := s.Open(id)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.Open(id); err != nil || again != dir {
			t.Fatalf("second Open = %q, %v; want the same directory", again, err)
		}
		got, err := get(t, filepath.Join(dir, agentapi.HostSocket))
		if err != nil || got != id {
			t.Fatalf("request on %s's socket saw workspace %q (%v)", id, got, err)
		}
	}
	st, err := os.Stat(s.Root())
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("root mode = %v (%v), want 0700: only the host's user may traverse it", st.Mode(), err)
	}
	st, err = os.Stat(s.Dir("ws-a"))
	if err != nil || st.Mode().Perm() != 0o777 {
		t.Fatalf("workspace directory mode = %v (%v), want 0777 so the workspace's user can make its socket", st.Mode(), err)
	}
}

func TestRemoveStopsServingAndDeletes(t *testing.T) {
	s := mustServer(t)
	dir, err := s.Open("ws-r")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("ws-r"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory after Remove: %v, want gone", err)
	}
	if _, err := get(t, filepath.Join(dir, agentapi.HostSocket)); err == nil {
		t.Fatal("host socket still answers after Remove")
	}
	if err := s.Remove("ws-r"); err != nil {
		t.Fatalf("second Remove = %v, want idempotent", err)
	}
}

// TestReopenAfterRestart: a new server on the same root replaces the stale
// socket file and serves it again; Existing lists the directory.
func TestReopenAfterRestart(t *testing.T) {
	s := mustServer(t)
	dir, err := s.Open("ws-x")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := agentsock.New(s.Root(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "second") }), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ids, err := s2.Existing()
	if err != nil || len(ids) != 1 || ids[0] != "ws-x" {
		t.Fatalf("Existing = %v, %v; want [ws-x]", ids, err)
	}
	if _, err := s2.Open("ws-x"); err != nil {
		t.Fatal(err)
	}
	if got, err := get(t, filepath.Join(dir, agentapi.HostSocket)); err != nil || got != "second" {
		t.Fatalf("after restart the socket answered %q (%v), want the new server", got, err)
	}
}

func TestOpenRefusesUnsafeIDsAndLongPaths(t *testing.T) {
	s := mustServer(t)
	for _, id := range []string{"", "..", "../etc", "a/b", ".hidden", strings.Repeat("x", 129)} {
		if _, err := s.Open(id); err == nil {
			t.Errorf("Open(%q) succeeded, want refused", id)
		}
	}
	long, err := agentsock.New(filepath.Join(s.Root(), strings.Repeat("d", 60)), http.NotFoundHandler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	_, err = long.Open(strings.Repeat("w", 40))
	if err == nil || !strings.Contains(err.Error(), "--agent-dir") {
		t.Fatalf("Open with a socket path over 107 bytes = %v, want an error naming --agent-dir", err)
	}
}
