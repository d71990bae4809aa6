package httpapi

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Bounds of GET /workspaces/{id}?wait=STATUS&timeout=D.
const (
	defaultWait = 30 * time.Second
	maxWait     = 5 * time.Minute
	// recheck bounds how stale a waiter can be when the change was made by
	// another host replica (the in-process watch does not see it).
	recheck = time.Second
)

// waitWorkspace answers GET /workspaces/{id}?wait=STATUS[&timeout=D]: it
// holds the request until the workspace has STATUS or the timeout passes,
// then answers 200 with the workspace as it is (the caller compares its
// status), so clients need not poll.
func (s *Server) waitWorkspace(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want := host.Status(q.Get("wait"))
	if !want.Valid() {
		s.writeError(w, r, sdk.Invalid("get", "Unknown status to wait for.", sdk.FieldError{Path: "wait", Message: "is not a workspace status"}))
		return
	}
	timeout := defaultWait
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > maxWait {
			s.writeError(w, r, sdk.Invalid("get", "Invalid timeout.", sdk.FieldError{Path: "timeout", Message: "must be a duration such as 30s, at most " + maxWait.String()}))
			return
		}
		timeout = d
	}
	id := mux.Vars(r)["id"]
	changed, stop := s.d.Store.WatchStatus(id)
	defer stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for expired := false; ; {
		ws, err := s.d.Store.GetWorkspace(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if ws.Status == want || expired {
			writeJSON(w, http.StatusOK, toWorkspace(ws))
			return
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			expired = true
		case <-r.Context().Done():
			return
		}
	}
}
