package cplocal

import (
	"fmt"
	"net/http"
	"sort"
)

// refreshLocked notices an instance whose process died while nobody was
// waiting for it (an adopted one). The caller holds s.mu.
func (s *Server) refreshLocked(in *Instance) {
	if in.State == StateRunning && !s.alive(in.PID, in.InstanceID) {
		in.State, in.StateReason, in.PID = StateStopped, "instance process exited", 0
		if err := s.persistLocked(); err != nil {
			s.log.Error("persist state", "err", err)
		}
	}
}

// Instances returns every live instance, sorted by workspace id.
func (s *Server) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, 0, len(s.insts))
	for _, in := range s.insts {
		s.refreshLocked(in)
		out = append(out, in.public())
	}
	sort.Slice(out, func(a, b int) bool { return out[a].WorkspaceID < out[b].WorkspaceID })
	return out
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	in, ok := s.insts[id]
	var cur Instance
	if ok {
		s.refreshLocked(in)
		cur = in.public()
	}
	s.mu.Unlock()
	if !ok {
		writeNoInstance(w, id)
		return
	}
	writeJSON(w, http.StatusOK, cur)
}

// BatchStatusRequest is the body of POST /cp/workspaces/status.
type BatchStatusRequest struct {
	WorkspaceIDs []string `json:"workspace_ids"`
}

// InstanceList is the answer of the batch status and list routes.
type InstanceList struct {
	Workspaces []Instance `json:"workspaces"`
}

// MaxBatch is the most workspace ids one batch status call may name.
const MaxBatch = 1000

func (s *Server) handleBatchStatus(w http.ResponseWriter, r *http.Request) {
	var req BatchStatusRequest
	if !decode(w, r, &req) {
		return
	}
	if n := len(req.WorkspaceIDs); n == 0 || n > MaxBatch {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("workspace_ids must name 1 to %d workspaces, not %d.", MaxBatch, n))
		return
	}
	out := InstanceList{Workspaces: make([]Instance, len(req.WorkspaceIDs))}
	s.mu.Lock()
	for i, id := range req.WorkspaceIDs {
		if in, ok := s.insts[id]; ok {
			s.refreshLocked(in)
			out.Workspaces[i] = in.public()
		} else {
			out.Workspaces[i] = Instance{WorkspaceID: id, State: StateTerminated}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	org := r.URL.Query().Get("org_id")
	if !orgRE.MatchString(org) {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("The org_id query parameter %q must be 1-63 characters of a-z, 0-9 and -.", org))
		return
	}
	out := InstanceList{Workspaces: []Instance{}}
	for _, in := range s.Instances() {
		if in.OrgID == org {
			out.Workspaces = append(out.Workspaces, in)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
