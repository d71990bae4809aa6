package httpapi_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/httpapi"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
)

const proxyAdmin = "proxy-admin-token"

// mustOnlineAt makes an online workspace whose backend placed its agent at
// address, and returns its id and agent token.
func (h *agentHost) mustOnlineAt(name, address string) (string, string) {
	h.tb.Helper()
	id, tok := h.mustWorkspace(name)
	if err := h.st.SaveBackendState(ctxT(h.tb), id, []byte("s"), 1, address); err != nil {
		h.tb.Fatal(err)
	}
	if _, err := h.st.Transition(ctxT(h.tb), id, host.StatusChange{To: host.StatusOnline, Reason: "test"}); err != nil {
		h.tb.Fatal(err)
	}
	return id, tok
}

func (h *agentHost) a2a(id, body string) *httptest.ResponseRecorder {
	h.tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/workspaces/"+id+"/a2a", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+proxyAdmin)
	rec := httptest.NewRecorder()
	h.api.ServeHTTP(rec, req)
	return rec
}

// agentStub is an agent that checks the host's credential and answers as
// told; hits counts requests.
type agentStub struct {
	*httptest.Server
	hits atomic.Int64
}

func mustAgentStub(tb testing.TB, token string, answer http.HandlerFunc) *agentStub {
	a := &agentStub{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+agentapi.A2ACredential(lifecycle.TokenDigest(token)) {
			http.Error(w, "no credential", http.StatusUnauthorized)
			return
		}
		answer(w, r)
	}))
	tb.Cleanup(a.Close)
	return a
}

// TestProxyDialsOnlyThePlacedAddress attacks the A2A proxy the ways an
// agent or a buggy backend could: a redirect elsewhere, a registered URL off
// its address, an endpoint on the metadata service, a unix path other than
// its agent socket. Each is refused and the other target sees nothing.
func TestProxyDialsOnlyThePlacedAddress(t *testing.T) {
	sockRoot, err := os.MkdirTemp("", "mhproxy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockRoot) })
	agentSocket := func(id string) string { return filepath.Join(sockRoot, id, agentapi.AgentSocket) }
	h := mustAgentHost(t, httpapi.Deps{AdminToken: proxyAdmin, AgentSocket: agentSocket})

	victim := mustAgentStub(t, "none", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) })
	victimAddr := victim.Listener.Addr().String()

	t.Run("redirect is not followed", func(t *testing.T) {
		redirector := mustAgentStub(t, "", nil)
		redirector.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, victim.URL+"/steal", http.StatusTemporaryRedirect)
		})
		id, _ := h.mustOnlineAt("redirect", redirector.Listener.Addr().String())
		before := victim.hits.Load()
		rec := h.a2a(id, `{"jsonrpc":"2.0","id":1,"method":"message/send"}`)
		if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "redirect") {
			t.Fatalf("a2a through a redirecting agent = %d %s, want 502 naming the redirect", rec.Code, rec.Body)
		}
		if victim.hits.Load() != before {
			t.Fatal("the redirect target received the re-posted body")
		}
	})
	t.Run("registered URL off its address", func(t *testing.T) {
		id, _ := h.mustOnlineAt("legacy", "127.0.0.2")
		if err := h.st.RecordRegister(ctxT(t), id, "http://"+victimAddr+"/", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		before := victim.hits.Load()
		if rec := h.a2a(id, `{}`); rec.Code != http.StatusConflict {
			t.Fatalf("a2a to an agent URL off its address = %d %s, want 409", rec.Code, rec.Body)
		}
		if victim.hits.Load() != before {
			t.Fatal("the proxy reached the URL the agent claimed")
		}
	})
	for name, addr := range map[string]string{
		"metadata endpoint":    "169.254.169.254:80",
		"metadata v6":          "[fd00:ec2::254]:80",
		"docker socket":        "unix:/var/run/docker.sock",
		"other agent's socket": "unix:" + agentSocket("ws-other"),
	} {
		t.Run(name, func(t *testing.T) {
			id, _ := h.mustOnlineAt(strings.ReplaceAll(name, " ", "-"), addr)
			rec := h.a2a(id, `{}`)
			if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "not at an address the host forwards to") {
				t.Fatalf("a2a to %s = %d %s, want 409", addr, rec.Code, rec.Body)
			}
		})
	}
}

// TestProxyServesJSONOnly: whatever content type the agent claims, the host
// serves the reply as JSON with nosniff, so an agent cannot serve a page
// from the host's origin; and it presents the workspace's credential.
func TestProxyServesJSONOnly(t *testing.T) {
	h := mustAgentHost(t, httpapi.Deps{AdminToken: proxyAdmin})
	var tok string
	stub := mustAgentStub(t, "", nil)
	stub.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+agentapi.A2ACredential(lifecycle.TokenDigest(tok)) {
			http.Error(w, "no credential", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<script>alert(document.cookie)</script>`)
	})
	var id string
	id, tok = h.mustOnlineAt("html", stub.Listener.Addr().String())
	rec := h.a2a(id, `{"jsonrpc":"2.0","id":1,"method":"message/send"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("a2a = %d %s, want 200 (the credential must be presented)", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("X-Content-Type-Options is not nosniff")
	}
}

// TestProxyOverAgentSocket forwards to the workspace's agent socket.
func TestProxyOverAgentSocket(t *testing.T) {
	sockRoot, err := os.MkdirTemp("", "mhproxy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockRoot) })
	agentSocket := func(id string) string { return filepath.Join(sockRoot, id, agentapi.AgentSocket) }
	h := mustAgentHost(t, httpapi.Deps{AdminToken: proxyAdmin, AgentSocket: agentSocket})
	id, tok := h.mustWorkspace("sock")
	path := agentSocket(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+agentapi.A2ACredential(lifecycle.TokenDigest(tok)) {
			http.Error(w, "no credential", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"over the socket"}`)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if err := h.st.SaveBackendState(ctxT(t), id, []byte("s"), 1, "unix:"+path); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Transition(ctxT(t), id, host.StatusChange{To: host.StatusOnline, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	rec := h.a2a(id, `{"jsonrpc":"2.0","id":1,"method":"message/send"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "over the socket") {
		t.Fatalf("a2a over the agent socket = %d %s", rec.Code, rec.Body)
	}
}
