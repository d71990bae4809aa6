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
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
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
	// WorkspaceForA2A returns a workspace and the digest of its live agent
	// token (nil when none), from which the A2A proxy derives its
	// credential, in one query.
	WorkspaceForA2A(ctx context.Context, id string) (*host.Workspace, []byte, error)
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
	s.unrouted(r)
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)

	s.agentRoutes(r)

	admin := r.NewRoute().Subrouter()
	admin.Use(s.adminAuth)
	admin.HandleFunc("/workspaces", s.createWorkspace).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces", s.params(s.listWorkspaces, "backend", "status")).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}", s.getWorkspace).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}", s.patchWorkspace).Methods(http.MethodPatch)
	admin.HandleFunc("/workspaces/{id}", s.verb(host.VerbDelete)).Methods(http.MethodDelete)
	admin.HandleFunc("/workspaces/{id}/start", s.verb(host.VerbStart)).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces/{id}/stop", s.verb(host.VerbStop)).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces/{id}/restart", s.verb(host.VerbRestart)).Methods(http.MethodPost)
	admin.HandleFunc("/workspaces/{id}/operations", s.params(s.listOperations)).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}/boot-log", s.bootLog).Methods(http.MethodGet)
	admin.HandleFunc("/workspaces/{id}/a2a", s.a2a).Methods(http.MethodPost)
	admin.HandleFunc("/operations/{id}", s.getOperation).Methods(http.MethodGet)
	admin.HandleFunc("/backends", s.params(s.listBackends)).Methods(http.MethodGet)
	admin.HandleFunc("/orphans", s.params(s.listOrphans)).Methods(http.MethodGet)
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
	s.unrouted(r)
	s.agentRoutes(r)
	s.agentRouter = r
}

// unrouted sets r's answer for a request no route takes: 405 with Allow
// listing the methods the path's routes take, or 404 when none does. One
// handler decides both, by probing r for each method: the router reports a
// method mismatch inside a subrouter (the registry routes) as not found.
// The router runs its middleware only for a matched route, so the answer
// gets the request id and the request log here.
func (s *Server) unrouted(r *mux.Router) {
	h := s.requestID(s.logRequests(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		methods := allowed(r, req)
		if len(methods) == 0 {
			s.writeError(w, req, errNotFoundRoute(req))
			return
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		s.writeError(w, req, errMethod(req))
	})))
	r.NotFoundHandler, r.MethodNotAllowedHandler = h, h
}

// allowed lists the methods r routes req's path for.
func allowed(r *mux.Router, req *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		var match mux.RouteMatch
		if r.Match(probe, &match) && match.MatchErr == nil {
			out = append(out, m)
		}
	}
	return out
}

// backendNames are the names of the loaded backends; nil when the server
// has no view of them (Deps.Backends unset, in tests).
func (s *Server) backendNames() []string {
	if s.d.Backends == nil {
		return nil
	}
	names := []string{}
	for _, b := range s.d.Backends.Backends() {
		names = append(names, b.Name)
	}
	return names
}

// params refuses a request with a query parameter h does not read (400
// naming it), so a misspelt or unsupported filter (limit, name) is not
// silently ignored.
func (s *Server) params(h http.HandlerFunc, known ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, p := range slices.Sorted(maps.Keys(r.URL.Query())) {
			if !slices.Contains(known, p) {
				msg := "is not a parameter of this route"
				if len(known) > 0 {
					msg += "; it takes " + strings.Join(known, ", ")
				}
				s.writeError(w, r, sdk.Invalid("list", "Unknown query parameter "+p+".", sdk.FieldError{Path: p, Message: msg}))
				return
			}
		}
		h(w, r)
	}
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
