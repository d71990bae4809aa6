package cplocal

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Server is the local control plane. Create it with New, serve Handler, and
// Close it; instances outlive it unless Close is asked to kill them.
type Server struct {
	cfg   Config
	log   *slog.Logger
	users *instanceUsers // who instance processes run as; nil: the server's own user

	mu     sync.Mutex // guards insts, faults and persistence
	insts  map[string]*Instance
	faults Faults

	opMu sync.Mutex
	ops  map[string]*sync.Mutex // one lock per workspace serializes its mutations

	boots sync.WaitGroup
}

// New opens (or creates) the control plane in cfg.DataDir, re-adopting the
// instances a previous server left running: an instance whose process is
// alive and still its agent stays running; others are reported stopped.
func New(cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("cp-local config: %w", err)
	}
	abs, err := filepath.Abs(cfg.AgentPath)
	if err != nil {
		return nil, fmt.Errorf("agent path: %w", err)
	}
	cfg.AgentPath = abs
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("agent binary %s is not an executable file", abs)
	}
	users, err := instanceUsersFor(cfg.InstanceUser, cfg.InstanceUIDs)
	if err != nil {
		return nil, fmt.Errorf("cp-local config: %w", err)
	}
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	instances := filepath.Join(cfg.DataDir, "instances")
	if err := os.MkdirAll(instances, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if users != nil {
		// Instances reach their own directory through these, but may not
		// list them.
		for _, d := range []string{cfg.DataDir, instances} {
			if err := os.Chmod(d, 0o711); err != nil {
				return nil, fmt.Errorf("data dir: %w", err)
			}
		}
		for path, exec := range map[string]bool{instances: false, cfg.AgentPath: true} {
			if err := users.reachable(path, exec); err != nil {
				return nil, fmt.Errorf("cp-local config: %w", err)
			}
		}
	}
	s := &Server{cfg: cfg, users: users, log: cfg.Logger, insts: map[string]*Instance{}, faults: cfg.Faults, ops: map[string]*sync.Mutex{}}
	if err := s.loadState(); err != nil {
		return nil, err
	}
	s.adopt()
	return s, nil
}

// adopt reconciles the loaded records with the processes that really run.
func (s *Server) adopt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.insts {
		if in.UID == 0 && s.users != nil && s.users.shared == nil {
			// Recorded by a control plane that ran every instance as one
			// user: it gets a uid of its own from its next boot on.
			in.UID, _ = s.allocateUIDLocked()
		}
		switch {
		case in.State == StatePending && in.PID == 0:
			in.AgentPort = s.cfg.AgentPort
			in.Boot++
			s.bootAsync(in.WorkspaceID, in.Boot) // it had not booted yet: boot it now
		case in.PID != 0 && s.alive(in.PID, in.InstanceID):
			in.State = StateRunning
			s.log.Info("re-adopted instance", "instance_id", in.InstanceID, "pid", in.PID)
		case in.State == StatePending || in.State == StateRunning || in.State == StateStopping:
			in.State, in.StateReason, in.PID = StateStopped, "instance process was not running when the control plane started", 0
		}
	}
	if err := s.persistLocked(); err != nil {
		s.log.Error("persist state", "err", err)
	}
}

// Close waits for pending boots to finish and, when killInstances is set,
// stops every instance's process. Without it instances keep running, like
// EC2 instances across a control-plane restart.
func (s *Server) Close(killInstances bool) {
	s.boots.Wait()
	if !killInstances {
		return
	}
	s.mu.Lock()
	var live []Instance
	for _, in := range s.insts {
		live = append(live, *in)
	}
	s.mu.Unlock()
	for _, in := range live {
		unlock := s.lockWorkspace(in.WorkspaceID)
		s.stopInstance(in.WorkspaceID, "stopped: the control plane exited")
		unlock()
	}
}

// lockWorkspace serializes mutations of one workspace's instance.
func (s *Server) lockWorkspace(id string) func() {
	s.opMu.Lock()
	m, ok := s.ops[id]
	if !ok {
		m = &sync.Mutex{}
		s.ops[id] = m
	}
	s.opMu.Unlock()
	m.Lock()
	return m.Unlock
}

// Handler returns the HTTP API of docs/cp-api.md.
func (s *Server) Handler() http.Handler {
	ws := http.NewServeMux()
	ws.HandleFunc("POST /cp/workspaces/provision", s.handleProvision)
	ws.HandleFunc("POST /cp/workspaces/status", s.handleBatchStatus)
	ws.HandleFunc("GET /cp/workspaces", s.handleList)
	ws.HandleFunc("GET /cp/workspaces/{id}/status", s.handleStatus)
	ws.HandleFunc("POST /cp/workspaces/{id}/stop", s.handleStop)
	ws.HandleFunc("POST /cp/workspaces/{id}/start", s.handleStart)
	ws.HandleFunc("DELETE /cp/workspaces/{id}", s.handleTerminate)
	admin := http.NewServeMux()
	admin.HandleFunc("GET /cp/admin/workspaces/{id}/console", s.handleConsole)
	admin.HandleFunc("GET /cp/admin/faults", s.handleGetFaults)
	admin.HandleFunc("POST /cp/admin/faults", s.handlePostFaults)

	root := http.NewServeMux()
	root.Handle("/cp/workspaces", s.auth(s.cfg.SharedSecret, s.withFaults(ws)))
	root.Handle("/cp/workspaces/", s.auth(s.cfg.SharedSecret, s.withFaults(ws)))
	root.Handle("/cp/admin/", s.auth(s.cfg.AdminToken, admin))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("No route %s %s.", r.Method, r.URL.Path))
	})
	return http.MaxBytesHandler(root, maxBody)
}

const maxBody = 4 << 20

// auth refuses requests without "Authorization: Bearer <token>".
func (s *Server) auth(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			writeError(w, http.StatusUnauthorized, "unauthorized", "A valid bearer token is required for this route.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, message
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v, answering 400 or 413 itself on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "The request body is over 4 MiB.")
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid_request", "The body is not valid JSON for this route: "+err.Error()+".")
		return false
	}
	return true
}
