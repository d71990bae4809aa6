package httpapi

import (
	"net/http"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/sdk"
)

// agent authenticates an agent call: its bearer token must resolve to a
// live workspace, and the body's workspace id, when given, must be that
// workspace.
func (s *Server) agent(w http.ResponseWriter, r *http.Request, claimed string) (*host.Workspace, bool) {
	tok, ok := bearer(r)
	if !ok {
		s.writeError(w, r, errUnauthorized("An agent bearer token is required."))
		return nil, false
	}
	ws, err := s.d.Registry.Authenticate(r.Context(), lifecycle.TokenDigest(tok), claimed)
	if sdk.IsKind(err, sdk.KindNotFound) {
		s.writeError(w, r, errUnauthorized("The agent token is not valid."))
		return nil, false
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return ws, true
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var b agentapi.RegisterRequest
	if err := decode(r, "register", &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, ok := s.agent(w, r, b.WorkspaceID)
	if !ok {
		return
	}
	s.answer(w, r, s.d.Registry.Register(r.Context(), ws, &b))
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var b agentapi.HeartbeatRequest
	if err := decode(r, "heartbeat", &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, ok := s.agent(w, r, b.WorkspaceID)
	if !ok {
		return
	}
	s.answer(w, r, s.d.Registry.Heartbeat(r.Context(), ws, &b))
}

func (s *Server) bootEvent(w http.ResponseWriter, r *http.Request) {
	var b agentapi.BootEvent
	if err := decode(r, "boot-event", &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, ok := s.agent(w, r, b.WorkspaceID)
	if !ok {
		return
	}
	s.answer(w, r, s.d.Registry.BootEvent(r.Context(), ws, &b))
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
