package httpapi

import (
	"math"
	"net/http"
	"strconv"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/agentsock"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Body caps of the agent (registry) routes, applied before a byte is read
// and only once the token is known good. Register carries the agent card,
// so it gets more room; a larger body is refused with 413.
const (
	maxAgentBody    = 64 << 10
	maxRegisterBody = 256 << 10
)

// agent authenticates an agent call and decodes its body into v: the bearer
// token must resolve to a workspace whose agent may call (401 otherwise,
// without reading the body), the workspace must be within its rate limit
// (429 with Retry-After, body unread), the body at most limit bytes (413),
// and the workspace id the body names in *claimed, when given, must be the
// token's. On false the answer has been written.
//
// The agent handlers need nothing from the router but this, so they can be
// mounted on any router that serves the registry paths.
func (s *Server) agent(w http.ResponseWriter, r *http.Request, op string, limit int64, v any, claimed *string) (*host.Workspace, bool) {
	tok, ok := bearer(r)
	if !ok {
		s.writeError(w, r, errUnauthorized("An agent bearer token is required."))
		return nil, false
	}
	ws, err := s.d.Registry.Authenticate(r.Context(), lifecycle.TokenDigest(tok))
	if sdk.IsKind(err, sdk.KindNotFound) {
		s.writeError(w, r, errUnauthorized("The agent token is not valid."))
		return nil, false
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	if sock, ok := agentsock.WorkspaceID(r.Context()); ok && sock != ws.ID {
		// A call on one workspace's host socket with another's token: that
		// token leaked; refuse it as unknown here.
		s.writeError(w, r, errUnauthorized("The agent token is not valid on this workspace's socket."))
		return nil, false
	}
	if wait, ok := s.agentLimits.allow(ws.ID); !ok {
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.writeError(w, r, sdk.Errorf(sdk.KindQuota, op,
			"Too many registry calls from workspace %s; retry after %d s.", ws.ID, secs))
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := decode(r, op, v); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	if *claimed != "" && *claimed != ws.ID {
		s.writeError(w, r, sdk.Invalid(op, "The token does not belong to this workspace.",
			sdk.FieldError{Path: "workspace_id", Message: "does not match the token's workspace"}))
		return nil, false
	}
	return ws, true
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var b agentapi.RegisterRequest
	ws, ok := s.agent(w, r, "register", maxRegisterBody, &b, &b.WorkspaceID)
	if !ok {
		return
	}
	s.answer(w, r, s.d.Registry.Register(r.Context(), ws, &b))
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var b agentapi.HeartbeatRequest
	ws, ok := s.agent(w, r, "heartbeat", maxAgentBody, &b, &b.WorkspaceID)
	if !ok {
		return
	}
	s.answer(w, r, s.d.Registry.Heartbeat(r.Context(), ws, &b))
}

func (s *Server) bootEvent(w http.ResponseWriter, r *http.Request) {
	var b agentapi.BootEvent
	ws, ok := s.agent(w, r, "boot-event", maxAgentBody, &b, &b.WorkspaceID)
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
