package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

// CreateRequest is a validated request to create a workspace.
type CreateRequest struct {
	Name    string
	Backend string
	Runtime string
	Tier    int
	Config  map[string]string
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// runtimeRE is what a runtime name may be: a key of the host's runtime to
// image table, and a value of the agent's environment.
var runtimeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// maxConfigBytes caps a workspace's config files in total.
const maxConfigBytes = 1 << 20

// Validate checks the request and returns a KindInvalid *sdk.Error naming
// every offending field. It fills defaults (runtime "default", tier 2).
func (r *CreateRequest) Validate() error {
	var fields []sdk.FieldError
	if !nameRE.MatchString(r.Name) {
		fields = append(fields, sdk.FieldError{Path: "name", Message: "must be 1-63 lowercase letters, digits or dashes, starting and ending with a letter or digit"})
	}
	if r.Backend == "" {
		fields = append(fields, sdk.FieldError{Path: "backend", Message: "is required"})
	}
	if r.Runtime == "" {
		r.Runtime = "default"
	}
	if !runtimeRE.MatchString(r.Runtime) {
		fields = append(fields, sdk.FieldError{Path: "runtime", Message: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	if r.Tier == 0 {
		r.Tier = 2
	}
	if r.Tier < 1 || r.Tier > 4 {
		fields = append(fields, sdk.FieldError{Path: "tier", Message: fmt.Sprintf("must be 1 to 4, got %d", r.Tier)})
	}
	fields = append(fields, ValidateConfig(r.Config)...)
	if len(fields) > 0 {
		return sdk.Invalid("create", "The workspace request is invalid.", fields...)
	}
	return nil
}

// ValidateConfig checks config file paths, contents and sizes: no path may
// be another's directory (a file "a" and a file "a/b" cannot both exist),
// and no content may hold a NUL byte (the database stores text).
func ValidateConfig(cfg map[string]string) []sdk.FieldError {
	var fields []sdk.FieldError
	total := 0
	for _, p := range slices.Sorted(maps.Keys(cfg)) {
		c := cfg[p]
		total += len(p) + len(c)
		if msg := checkPath(p); msg != "" {
			fields = append(fields, sdk.FieldError{Path: "config." + p, Message: msg})
			continue
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := cfg[d]; ok {
				fields = append(fields, sdk.FieldError{Path: "config." + p,
					Message: fmt.Sprintf("is below %q, which is a file: a path cannot be both a file and a directory", d)})
				break
			}
		}
		if strings.IndexByte(c, 0) >= 0 {
			fields = append(fields, sdk.FieldError{Path: "config." + p, Message: "must not contain a NUL byte"})
		}
	}
	if total > maxConfigBytes {
		fields = append(fields, sdk.FieldError{Path: "config", Message: fmt.Sprintf("is %d bytes, more than the %d allowed", total, maxConfigBytes)})
	}
	return fields
}

var pathRE = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)

func checkPath(p string) string {
	if !pathRE.MatchString(p) || len(p) > 255 {
		return "file path must be relative, slash-separated, of letters, digits, '.', '_' and '-'"
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return "file path must not contain '.' or '..' segments"
		}
	}
	return ""
}

// Create validates req, checks that its backend is loaded and reachable,
// and persists the workspace (provisioning) with its create operation. It
// changes nothing when it returns an error.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*host.Workspace, *host.Operation, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	if s.imageFor(req.Runtime) == "" {
		return nil, nil, sdk.Invalid("create", "The workspace request is invalid.",
			sdk.FieldError{Path: "runtime", Message: fmt.Sprintf("no image is configured for runtime %q", req.Runtime)})
	}
	if req.Config == nil {
		req.Config = map[string]string{}
	}
	ws := &host.Workspace{
		ID: uuid.NewString(), Name: req.Name, OrgID: s.cfg.OrgID, Backend: req.Backend,
		Runtime: req.Runtime, Tier: req.Tier, Config: req.Config,
		ConfigHash: agentapi.ConfigHash(configBytes(req.Config)), Status: host.StatusProvisioning,
	}
	if err := s.preflight(ctx, ws); err != nil {
		return nil, nil, err
	}
	deadline := s.now().Add(s.cfg.ProvisionTimeout)
	ws.ProvisionDeadline = &deadline
	op := &host.Operation{ID: uuid.NewString(), WorkspaceID: ws.ID, Verb: host.VerbCreate, State: host.OpQueued, Step: "queued"}
	if err := s.store.CreateWorkspace(ctx, ws, op); err != nil {
		return nil, nil, err
	}
	return ws, op, nil
}

// Act enqueues verb (start, stop, restart or delete) on workspace id and
// returns the workspace as the operation leaves it at once: start and
// restart move it to provisioning in the transaction that enqueues them
// (clearing the old boot's registration and revoking its agent token, and
// setting the operation's provision deadline), so the answer and any wait
// that follows see the new boot, never the state from before the request.
// Stop and delete preempt a live create, start or restart: it fails with
// "Preempted by stop." and its running attempt is cancelled.
func (s *Service) Act(ctx context.Context, id string, verb host.Verb) (*host.Workspace, *host.Operation, error) {
	ws, err := s.store.GetWorkspace(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if ws.Status == host.StatusRemoved {
		return nil, nil, sdk.Errorf(sdk.KindConflict, string(verb), "Workspace %s has been removed.", id)
	}
	var opts store.EnqueueOptions
	switch verb {
	case host.VerbStart, host.VerbRestart:
		if err := s.preflight(ctx, ws); err != nil {
			return nil, nil, err
		}
		deadline := s.now().Add(s.cfg.ProvisionTimeout)
		opts.Status = &host.StatusChange{To: host.StatusProvisioning, Reason: string(verb) + " requested",
			ProvisionDeadline: &deadline, ClearBoot: true}
		opts.RevokeToken = true
	case host.VerbStop, host.VerbDelete:
		opts.Preempt = true
	}
	op := &host.Operation{ID: uuid.NewString(), WorkspaceID: ws.ID, Verb: verb, State: host.OpQueued, Step: "queued"}
	ws, err = s.store.EnqueueOperationWith(ctx, op, opts)
	if err != nil {
		return nil, nil, err
	}
	return ws, op, nil
}

// preflight asks the workspace's backend about it once (one batched Status
// call), so that an unknown backend is a 400 and an unreachable substrate
// is a 503 now, before anything is persisted, rather than a failed
// operation later.
func (s *Service) preflight(ctx context.Context, ws *host.Workspace) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := s.dispatch.Status(ctx, []*host.Workspace{ws})
	if err == nil {
		return nil
	}
	if sdk.IsKind(err, sdk.KindNotFound) {
		return sdk.Invalid("create", "The workspace request is invalid.",
			sdk.FieldError{Path: "backend", Message: fmt.Sprintf("no backend named %q is loaded", ws.Backend)})
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return sdk.Errorf(sdk.KindTransient, "preflight", "Backend %q did not answer in time.", ws.Backend)
	}
	return err
}

func configBytes(cfg map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(cfg))
	for p, c := range cfg {
		out[p] = []byte(c)
	}
	return out
}

// ConfigHash returns the hash of a stored config, as the agent computes it.
func ConfigHash(cfg map[string]string) string { return agentapi.ConfigHash(configBytes(cfg)) }
