package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/mux"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/sdk"
)

// a2a forwards a JSON-RPC call to the workspace's agent. Only online
// workspaces are reachable, only at the exact address their backend placed
// the agent at (see a2aTarget), with the workspace's A2A credential, never
// through a redirect. The request body is capped (413 over maxBody) and so
// is the reply (502 over maxBody); the reply is always served as
// application/json with nosniff, whatever the agent said, so an agent cannot
// serve content from the host's origin.
func (s *Server) a2a(w http.ResponseWriter, r *http.Request) {
	ws, digest, err := s.d.Store.WorkspaceForA2A(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ws.Status != host.StatusOnline {
		s.writeError(w, r, sdk.Errorf(sdk.KindTransient, "a2a", "Workspace %s is %s, not online.", ws.ID, ws.Status))
		return
	}
	target, err := s.a2aTarget(ws)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if digest == nil {
		s.writeError(w, r, sdk.Errorf(sdk.KindTransient, "a2a", "Workspace %s has no live agent; start it again.", ws.ID))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.writeError(w, r, errTooLarge(maxBody))
		return
	}
	if err != nil {
		s.writeError(w, r, sdk.Invalid("a2a", "The request body could not be read."))
		return
	}
	// The URL names the target only so that pooled connections are never
	// shared between targets; the dialer goes to target, whatever it says.
	req, err := http.NewRequestWithContext(withTarget(r.Context(), target), http.MethodPost, target.url(), bytes.NewReader(body))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+agentapi.A2ACredential(digest))
	resp, err := s.proxy.Do(req)
	if err != nil {
		s.writeError(w, r, sdk.Errorf(sdk.KindTransient, "a2a", "The workspace's agent did not answer: %v", err))
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		s.writeError(w, r, errBadGateway("The workspace's agent answered with a redirect; the host does not follow redirects."))
		return
	case resp.StatusCode == http.StatusUnauthorized:
		s.writeError(w, r, errBadGateway("The workspace's agent refused the host's credential; restart the workspace."))
		return
	}
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		s.writeError(w, r, sdk.Errorf(sdk.KindTransient, "a2a", "The workspace's agent reply broke off: %v", err))
		return
	}
	if len(reply) > maxBody {
		s.writeError(w, r, errBadGateway(fmt.Sprintf("The workspace's agent replied with more than %d bytes.", maxBody)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(reply)
}

// a2aTarget is where the proxy may send ws's A2A calls. A placed address of
// the form "unix:PATH" is honoured only when PATH is the agent socket of
// ws's own agent directory; "host:port" is dialled exactly; a bare host
// (from a backend reporting no endpoint) is combined with the port of the
// URL the agent registered, whose host must be that one. Link-local,
// metadata, multicast and unspecified addresses are refused here and again
// when dialling (a name may resolve to one).
func (s *Server) a2aTarget(ws *host.Workspace) (dialTarget, error) {
	refuse := func(format string, a ...any) (dialTarget, error) {
		return dialTarget{}, sdk.Errorf(sdk.KindConflict, "a2a", "Workspace %s's agent is not at an address the host forwards to: "+format, append([]any{ws.ID}, a...)...)
	}
	addr := ws.Address
	if addr == "" {
		return dialTarget{}, sdk.Errorf(sdk.KindTransient, "a2a", "Workspace %s has no placed address yet.", ws.ID)
	}
	if path, ok := strings.CutPrefix(addr, host.UnixEndpointPrefix); ok {
		if s.d.AgentSocket == nil || path != s.d.AgentSocket(ws.ID) {
			return refuse("unix socket %q is not its agent socket", path)
		}
		return dialTarget{network: "unix", addr: path}, nil
	}
	if h, port, err := net.SplitHostPort(addr); err == nil {
		if err := host.CheckAgentHost(h); err != nil {
			return refuse("%v", err)
		}
		return dialTarget{network: "tcp", addr: net.JoinHostPort(h, port)}, nil
	}
	u, err := url.Parse(ws.URL)
	if ws.URL == "" || err != nil || u.Scheme != "http" || u.Port() == "" {
		return dialTarget{}, sdk.Errorf(sdk.KindTransient, "a2a", "Workspace %s's agent has not registered a usable URL yet.", ws.ID)
	}
	if !sameHost(u.Hostname(), addr) {
		return refuse("its registered URL is not on its address %s", addr)
	}
	if err := host.CheckAgentHost(addr); err != nil {
		return refuse("%v", err)
	}
	return dialTarget{network: "tcp", addr: net.JoinHostPort(addr, u.Port())}, nil
}

func sameHost(a, b string) bool {
	if a == b {
		return true
	}
	ia, ea := netip.ParseAddr(a)
	ib, eb := netip.ParseAddr(b)
	return ea == nil && eb == nil && ia.Unmap() == ib.Unmap()
}

// dialTarget is the one address a proxied request may be sent to.
type dialTarget struct{ network, addr string }

// url is a URL unique to the target, so the transport pools connections per
// target; the host part is never resolved.
func (t dialTarget) url() string {
	sum := sha256.Sum256([]byte(t.network + "\x00" + t.addr))
	return "http://a2a-" + hex.EncodeToString(sum[:8]) + ".invalid/"
}

type targetKey struct{}

func withTarget(ctx context.Context, t dialTarget) context.Context {
	return context.WithValue(ctx, targetKey{}, t)
}

// newProxyClient returns the A2A proxy's client: it dials only the target
// carried by the request's context, refuses forbidden IPs at connect time,
// and never follows a redirect.
func newProxyClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if network == "unix" {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("a2a proxy: cannot check address %q: %w", address, err)
			}
			return host.CheckAgentIP(ap.Addr())
		},
	}
	tr := &http.Transport{
		Proxy: nil, // never through an environment proxy
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			t, ok := ctx.Value(targetKey{}).(dialTarget)
			if !ok {
				return nil, errors.New("a2a proxy: request has no target")
			}
			return dialer.DialContext(ctx, t.network, t.addr)
		},
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// bootLog streams the workspace's boot and console output, the same
// endpoint for every backend.
func (s *Server) bootLog(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.workspace(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	opt := dispatch.LogsOptions{Follow: q.Get("follow") == "true" || q.Get("follow") == "1"}
	if t := q.Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			s.writeError(w, r, sdk.Invalid("boot-log", "Invalid tail.", sdk.FieldError{Path: "tail", Message: "must be a non-negative integer"}))
			return
		}
		if n == 0 && opt.Follow {
			// The backends' TailLines 0 means all: "none, then follow" cannot
			// be asked for.
			s.writeError(w, r, sdk.Invalid("boot-log", "Invalid tail.", sdk.FieldError{Path: "tail", Message: "must be at least 1 with follow"}))
			return
		}
		if n == 0 { // the last 0 lines: nothing (no tail at all means all)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			return
		}
		opt.TailLines = n
	}
	flusher, _ := w.(http.Flusher)
	started := false
	err := s.d.Logs.Logs(r.Context(), ws, opt, func(b []byte) error {
		if !started {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if err != nil && !started {
		s.writeError(w, r, err)
		return
	}
	if err != nil {
		s.d.Logger.Warn("boot log stream ended with error", "workspace", ws.ID, "err", err)
	}
	if !started {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
	}
}
