package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/sdk"
)

// a2a forwards a JSON-RPC call to the workspace's agent. Only online
// workspaces are reachable, and only at the URL their agent registered,
// which the registry has already checked lies on the backend-reported
// address.
func (s *Server) a2a(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.workspace(w, r)
	if !ok {
		return
	}
	if ws.Status != host.StatusOnline || ws.URL == "" {
		s.writeError(w, r, sdk.Errorf(sdk.KindTransient, "a2a", "Workspace %s is %s, not online.", ws.ID, ws.Status))
		return
	}
	u, err := url.Parse(ws.URL)
	if err != nil || u.Hostname() != ws.Address {
		s.writeError(w, r, sdk.Errorf(sdk.KindConflict, "a2a", "Workspace %s's agent URL is not on its address.", ws.ID))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		s.writeError(w, r, sdk.Invalid("a2a", "The request body could not be read."))
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, ws.URL, bytes.NewReader(body))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.proxy.Do(req)
	if err != nil {
		s.writeError(w, r, sdk.Errorf(sdk.KindTransient, "a2a", "The workspace's agent did not answer: %v", err))
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxBody))
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
