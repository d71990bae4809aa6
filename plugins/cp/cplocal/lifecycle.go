package cplocal

import (
	"fmt"
	"net/http"
	"os"
)

// stopInstance stops the workspace's instance process, and every other
// process of the instance's own uid, and records it stopped (with reason, if any). The caller holds the workspace lock. It
// returns false when the workspace has no instance.
func (s *Server) stopInstance(workspaceID, reason string) (Instance, bool) {
	s.mu.Lock()
	in, ok := s.insts[workspaceID]
	if !ok {
		s.mu.Unlock()
		return Instance{}, false
	}
	pid, id, cur := in.PID, in.InstanceID, *in
	if in.State != StateStopped {
		in.State = StateStopping
		in.Boot++ // a boot not yet run is cancelled
	}
	s.mu.Unlock()
	err := s.kill(pid, id)
	if err == nil {
		err = s.killUID(cur)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.State == StateStopping {
		in.State, in.StateReason, in.PID = StateStopped, reason, 0
		if err != nil {
			in.StateReason = "stop failed: " + err.Error()
		}
		s.consoleLine(id, "instance stopped")
	}
	if err := s.persistLocked(); err != nil {
		s.log.Error("persist state", "err", err)
	}
	return in.public(), true
}

func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	unlock := s.lockWorkspace(id)
	defer unlock()
	in, ok := s.stopInstance(id, "")
	if !ok {
		writeNoInstance(w, id)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	unlock := s.lockWorkspace(id)
	defer unlock()
	s.mu.Lock()
	in, ok := s.insts[id]
	var cur Instance
	if ok {
		cur = in.public()
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeNoInstance(w, id)
	case cur.State == StateStopped:
		writeJSON(w, http.StatusOK, s.boot(id, nil))
	default:
		writeJSON(w, http.StatusOK, cur)
	}
}

func (s *Server) handleTerminate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	unlock := s.lockWorkspace(id)
	defer unlock()
	in, ok := s.stopInstance(id, "terminated")
	if !ok {
		writeJSON(w, http.StatusOK, Instance{WorkspaceID: id, State: StateTerminated})
		return
	}
	if err := os.RemoveAll(s.instanceDir(in.InstanceID)); err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "Could not delete the instance's disk: "+err.Error()+".")
		return
	}
	s.mu.Lock()
	delete(s.insts, id)
	err := s.persistLocked()
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "Could not record the termination: "+err.Error()+".")
		return
	}
	s.log.Info("terminated instance", "instance_id", in.InstanceID, "workspace_id", id)
	writeJSON(w, http.StatusOK, Instance{InstanceID: in.InstanceID, WorkspaceID: id, State: StateTerminated})
}

func writeNoInstance(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("Workspace %s has no instance.", id))
}
