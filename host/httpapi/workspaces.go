package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

type createBody struct {
	Name    string            `json:"name"`
	Backend string            `json:"backend"`
	Runtime string            `json:"runtime"`
	Tier    int               `json:"tier"`
	Config  map[string]string `json:"config"`
}

func (s *Server) createWorkspace(w http.ResponseWriter, r *http.Request) {
	var b createBody
	if err := decode(r, "create", &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, op, err := s.d.Lifecycle.Create(r.Context(), lifecycle.CreateRequest{
		Name: b.Name, Backend: b.Backend, Runtime: b.Runtime, Tier: b.Tier, Config: b.Config})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, acceptedDTO{Workspace: toWorkspace(ws), Operation: toOperation(op)})
}

func (s *Server) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	f := store.ListFilter{Backend: r.URL.Query().Get("backend")}
	if names := s.backendNames(); f.Backend != "" && names != nil && !slices.Contains(names, f.Backend) {
		s.writeError(w, r, sdk.Invalid("list", "Unknown backend filter.", sdk.FieldError{Path: "backend",
			Message: fmt.Sprintf("no backend named %q is loaded; the loaded ones are: %s", f.Backend, strings.Join(names, ", "))}))
		return
	}
	if st := r.URL.Query().Get("status"); st != "" {
		if !host.Status(st).Valid() {
			s.writeError(w, r, sdk.Invalid("list", "Unknown status filter.", sdk.FieldError{Path: "status", Message: "is not a workspace status"}))
			return
		}
		f.Statuses = []host.Status{host.Status(st)}
		f.IncludeRemoved = st == string(host.StatusRemoved)
	}
	wss, err := s.d.Store.ListWorkspaces(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]workspaceDTO, len(wss))
	for i, ws := range wss {
		out[i] = toWorkspace(ws)
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspaces": out})
}

// workspace loads the {id} workspace or answers 404.
func (s *Server) workspace(w http.ResponseWriter, r *http.Request) (*host.Workspace, bool) {
	ws, err := s.d.Store.GetWorkspace(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return ws, true
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("wait") != "" {
		s.waitWorkspace(w, r)
		return
	}
	if ws, ok := s.workspace(w, r); ok {
		writeJSON(w, http.StatusOK, toWorkspace(ws))
	}
}

type patchBody struct {
	Config *map[string]string `json:"config"`
}

// patchWorkspace changes the stored config only; it takes effect at the
// next start or restart, which reads it from the database.
func (s *Server) patchWorkspace(w http.ResponseWriter, r *http.Request) {
	var b patchBody
	if err := decode(r, "update", &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, ok := s.workspace(w, r)
	if !ok {
		return
	}
	if ws.Status == host.StatusRemoved {
		s.writeError(w, r, sdk.Errorf(sdk.KindConflict, "update", "Workspace %s has been removed.", ws.ID))
		return
	}
	if b.Config != nil {
		if fields := lifecycle.ValidateConfig(*b.Config); len(fields) > 0 {
			s.writeError(w, r, sdk.Invalid("update", "The config is invalid.", fields...))
			return
		}
		if err := s.d.Store.UpdateConfig(r.Context(), ws.ID, *b.Config, lifecycle.ConfigHash(*b.Config)); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.getWorkspace(w, r)
}

func (s *Server) verb(v host.Verb) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ws, op, err := s.d.Lifecycle.Act(r.Context(), mux.Vars(r)["id"], v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, acceptedDTO{Workspace: toWorkspace(ws), Operation: toOperation(op)})
	}
}

func (s *Server) listOperations(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.workspace(w, r)
	if !ok {
		return
	}
	ops, err := s.d.Store.ListOperations(r.Context(), ws.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]operationDTO, len(ops))
	for i, op := range ops {
		out[i] = toOperation(op)
	}
	writeJSON(w, http.StatusOK, map[string]any{"operations": out})
}

func (s *Server) getOperation(w http.ResponseWriter, r *http.Request) {
	op, err := s.d.Store.GetOperation(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toOperation(op))
}

func (s *Server) listBackends(w http.ResponseWriter, r *http.Request) {
	bs := s.d.Backends.Backends()
	if bs == nil {
		bs = []BackendInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"backends": bs})
}

type orphanDTO struct {
	Backend     string   `json:"backend"`
	WorkspaceID string   `json:"workspace_id"`
	Resources   []string `json:"resources"`
}

func (s *Server) listOrphans(w http.ResponseWriter, r *http.Request) {
	var names []string
	for _, b := range s.d.Backends.Backends() {
		names = append(names, b.Name)
	}
	rep, err := s.d.Lifecycle.Orphans(r.Context(), names)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]orphanDTO, 0, len(rep.Orphans))
	for _, o := range rep.Orphans {
		out = append(out, orphanDTO{Backend: o.Backend, WorkspaceID: o.WorkspaceID, Resources: o.Resources})
	}
	writeJSON(w, http.StatusOK, map[string]any{"orphans": out, "skipped": rep.Skipped})
}
