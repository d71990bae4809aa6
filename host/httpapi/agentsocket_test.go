package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host/agentsock"
	"github.com/molecule-ai/molecule-host/host/httpapi"
)

// TestAgentSocketServesOnlyItsAgent attacks a workspace's host socket as the
// code inside that workspace would: the admin routes with the admin token
// (not served at all), and the agent routes with another workspace's token.
func TestAgentSocketServesOnlyItsAgent(t *testing.T) {
	h := mustAgentHost(t, httpapi.Deps{AdminToken: proxyAdmin})
	root, err := os.MkdirTemp("", "mhsock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	socks, err := agentsock.New(root, h.api.AgentHandler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { socks.Close() })
	idA, tokA := h.mustWorkspace("sock-a")
	_, tokB := h.mustWorkspace("sock-b")
	dir, err := socks.Open(idA)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(dir, agentapi.HostSocket))
	}}}
	call := func(method, path, token, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://host"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/workspaces", "/backends", "/orphans", "/workspaces/" + idA, "/healthz"} {
		if code := call(http.MethodGet, path, proxyAdmin, ""); code != http.StatusNotFound {
			t.Errorf("GET %s on the agent socket with the admin token = %d, want 404 (not served)", path, code)
		}
	}
	if code := call(http.MethodPost, "/workspaces", proxyAdmin, `{"name":"x","backend":"fake"}`); code != http.StatusNotFound {
		t.Errorf("POST /workspaces on the agent socket = %d, want 404", code)
	}
	hb := `{"uptime_seconds":1,"config_hash":"` + configHash + `"}`
	if code := call(http.MethodPost, agentapi.PathHeartbeat, tokB, hb); code != http.StatusUnauthorized {
		t.Errorf("heartbeat with another workspace's token on this socket = %d, want 401", code)
	}
	if code := call(http.MethodPost, agentapi.PathHeartbeat, tokA, hb); code != http.StatusOK {
		t.Errorf("heartbeat with its own token = %d, want 200", code)
	}
}
