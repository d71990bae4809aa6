// Package httpapi is Molecule Host's HTTP API: gorilla/mux routes, admin and
// agent authentication, JSON bodies validated with field-level errors, and
// the one table that maps error kinds to HTTP statuses. Handlers convert
// between host domain types and the API's DTOs here and nowhere else; the
// API never exposes backend_state or raw columns.
//
// httpapi must not import host/pluginmgr or sdk/pluginrpc: handlers reach a
// backend only through host/dispatch (via host/lifecycle and the logs
// dispatcher).
package httpapi

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/host/store"
)

// Lifecycle runs lifecycle verbs.
type Lifecycle interface {
	Create(ctx context.Context, req lifecycle.CreateRequest) (*host.Workspace, *host.Operation, error)
	Act(ctx context.Context, id string, verb host.Verb) (*host.Workspace, *host.Operation, error)
	Orphans(ctx context.Context, backends []string) (*lifecycle.OrphanReport, error)
}

// Reader reads and edits what the store holds.
type Reader interface {
	GetWorkspace(ctx context.Context, id string) (*host.Workspace, error)
	ListWorkspaces(ctx context.Context, f store.ListFilter) ([]*host.Workspace, error)
	UpdateConfig(ctx context.Context, id string, config map[string]string, hash string) error
	GetOperation(ctx context.Context, id string) (*host.Operation, error)
	ListOperations(ctx context.Context, workspaceID string) ([]*host.Operation, error)
	Ping(ctx context.Context) error
	// WatchStatus signals each status change of a workspace made by this
	// host; stop ends the watch.
	WatchStatus(id string) (changed <-chan struct{}, stop func())
	// AgentTokenDigest is the digest of the workspace's live agent token,
	// from which the A2A proxy derives its credential.
	AgentTokenDigest(ctx context.Context, id string) ([]byte, error)
}

// Registry handles the workspace agents' calls.
type Registry interface {
	// Authenticate resolves a token digest to the workspace whose agent
	// may call; KindNotFound when none.
	Authenticate(ctx context.Context, digest []byte) (*host.Workspace, error)
	Register(ctx context.Context, ws *host.Workspace, req *agentapi.RegisterRequest) error
	BootEvent(ctx context.Context, ws *host.Workspace, ev *agentapi.BootEvent) error
	Heartbeat(ctx context.Context, ws *host.Workspace, hb *agentapi.HeartbeatRequest) error
}

// LogStreamer streams a workspace's boot log (host/dispatch).
type LogStreamer interface {
	Logs(ctx context.Context, ws *host.Workspace, opt dispatch.LogsOptions, send func([]byte) error) error
}

// BackendInfo is one loaded backend as GET /backends shows it.
type BackendInfo struct {
	Name            string                `json:"name"`
	Version         string                `json:"version"`
	ProtocolVersion int                   `json:"protocol_version"`
	Description     string                `json:"description"`
	Capabilities    []string              `json:"capabilities"`
	Features        map[string]FeatureDTO `json:"features"`
	State           string                `json:"state"`
	Reason          string                `json:"reason,omitempty"`
	Path            string                `json:"path"`
	SHA256          string                `json:"sha256"`
	Restarts        int                   `json:"restarts"`
	PID             int                   `json:"pid,omitempty"`
}

// FeatureDTO is a backend's declaration of one matrix feature.
type FeatureDTO struct {
	Note       string            `json:"note"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Backends lists the loaded backends.
type Backends interface {
	Backends() []BackendInfo
}

// Deps are the server's collaborators, wired by cmd/molecule-host.
type Deps struct {
	Lifecycle  Lifecycle
	Store      Reader
	Registry   Registry
	Logs       LogStreamer
	Backends   Backends
	AdminToken string
	Logger     *slog.Logger
	// ProxyTimeout bounds a proxied A2A call (default 60s).
	ProxyTimeout time.Duration
	// AgentSocket returns the path of a workspace's agent socket in its
	// agent directory (host/agentsock); the proxy dials a unix address only
	// when it is that path. Nil: unix addresses are refused.
	AgentSocket func(workspaceID string) string
	// AgentRate and AgentBurst size the token bucket that limits each
	// workspace's registry calls: AgentRate calls per second sustained,
	// AgentBurst at once (defaults 5 and 40). Over it, a call gets 429.
	AgentRate  float64
	AgentBurst int
}

// Server is the HTTP API.
type Server struct {
	d           Deps
	router      *mux.Router
	agentRouter *mux.Router
	proxy       *http.Client
	agentLimits *agentLimits
}

// New returns the API handler.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.ProxyTimeout <= 0 {
		d.ProxyTimeout = 60 * time.Second
	}
	s := &Server{d: d, router: mux.NewRouter(), proxy: newProxyClient(d.ProxyTimeout),
		agentLimits: newAgentLimits(d.AgentRate, d.AgentBurst)}
	s.routes()
	s.buildAgentRouter()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Router exposes the router so tests can compare it with the OpenAPI
// document.
func (s *Server) Router() *mux.Router { return s.router }

func (s *Server) routes() {
	r := s.router
	r.Use(s.requestID, s.logRequests, limitBody(maxBody))
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errNotFoundRoute(r))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errMethod(r))
	})
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet)

	s.agentRoutes(r)

	admin := r.NewRoute().Subrouter()
	admin.Use(s.adminAuth)
	admin.HandleFunc("/workspaces", s.createWorkspace).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces", s.listWorkspaces).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}", s.getWorkspace).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}", s.patchWorkspace).Methods(http.MethodPatch)
	admin.HandleFunc("/workspaces/{id}", s.verb(host.VerbDelete)).Methods(http.MethodDelete)
	admin.HandleFunc("/workspaces/{id}/start", s.verb(host.VerbStart)).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces/{id}/stop", s.verb(host.VerbStop)).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces/{id}/restart", s.verb(host.VerbRestart)).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces/{id}/operations", s.listOperations).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}/boot-log", s.bootLog).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}/a2a", s.a2a).Methods(http.MethodPost)
	admin.HandleFunc("/operations/{id}", s.getOperation).Methods(http.MethodGet)
	admin.HandleFunc("/backends", s.listBackends).Methods(http.MethodGet)
	admin.HandleFunc("/orphans", s.listOrphans).Methods(http.MethodGet)
}

// agentRoutes registers the workspace agents' routes on r.
func (s *Server) agentRoutes(r *mux.Router) {
	agent := r.PathPrefix("/registry").Subrouter()
	agent.HandleFunc("/register", s.register).Methods(http.MethodPost)
	agent.HandleFunc("/heartbeat", s.heartbeat).Methods(http.MethodPost)
	agent.HandleFunc("/boot-event", s.bootEvent).Methods(http.MethodPost)
}

// AgentHandler serves the agent routes and nothing else: what the host
// serves on each workspace's host socket (host/agentsock), so workspace
// code that reaches the socket can reach no admin route.
func (s *Server) AgentHandler() http.Handler { return s.agentRouter }

func (s *Server) buildAgentRouter() {
	r := mux.NewRouter()
	r.Use(s.requestID, s.logRequests)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errNotFoundRoute(r))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errMethod(r))
	})
	s.agentRoutes(r)
	s.agentRouter = r
}

func (s *Server) adminAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.d.AdminToken)) != 1 {
			s.writeError(w, r, errUnauthorized("An admin bearer token is required."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.d.Store.Ping(ctx); err != nil {
		s.d.Logger.Error("healthz: database", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
