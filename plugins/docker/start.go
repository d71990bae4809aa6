package docker

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Where the volumes are mounted in the container: the config volume
// (written by the backend, read by the agent) and the workspace volume (the
// workspace's own files, writable by its user).
const (
	configDir    = "/configs"
	workspaceDir = "/workspace"
)

// Start creates the workspace's container or starts it again; idempotent
// per workspace id. The agent token is written to the agent directory first
// (writeToken), never into the container's spec, so a new token alone never
// re-creates a container: a container whose molecule.spec label matches the
// request is started if stopped, or left running untouched (its agent picks
// up the new token when the host refuses the old one). Any other container of
// the workspace is removed (volumes kept) and a new one is created: config
// volume re-created and filled with the request's files BEFORE the
// container starts, so the agent's first config hash is the request's.
// The container has no network path to the host: the request's AgentDir is
// mounted at agentapi.AgentDirInWorkspace, the agent reaches the host on
// its host socket and serves A2A on its agent socket, and the response's
// Endpoint is that socket's path on the host's machine.
// Returns KindInvalid (bad request, AgentDir missing), KindConflict (not
// configured, or a foreign or outdated network), KindNotFound (image
// missing), KindTransient (daemon unreachable) or KindInternal.
func (b *Backend) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	s, err := b.settings("start")
	if err != nil {
		return nil, err
	}
	if err := validateStart(req); err != nil {
		return nil, err
	}
	spec := specHash(req, s)
	existing, err := s.listWorkspace(ctx, "start", req.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if err := writeToken(req.AgentDir, req.AgentToken); err != nil {
		return nil, err
	}
	if len(existing) == 1 && existing[0].Labels[LabelSpec] == spec {
		return s.resume(ctx, req, existing[0])
	}
	for _, c := range existing {
		if err := s.removeContainer(ctx, "start", c.ID); err != nil {
			return nil, err
		}
	}
	return s.create(ctx, req, spec)
}

func validateStart(req *sdk.StartRequest) error {
	var fields []sdk.FieldError
	if !workspaceIDRE.MatchString(req.WorkspaceID) {
		fields = append(fields, sdk.FieldError{Path: "workspace_id", Message: fmt.Sprintf("%q is not a workspace id of letters, digits, '_', '.', '-' (1-128 characters)", req.WorkspaceID)})
	}
	if !path.IsAbs(req.AgentDir) {
		fields = append(fields, sdk.FieldError{Path: "agent_dir", Message: "an absolute agent directory is required: the Docker backend gives workspaces no network path to the host, so the host must serve the agent socket in a directory mounted into the container"})
	}
	if req.AgentToken == "" {
		fields = append(fields, sdk.FieldError{Path: "agent_token", Message: "the agent token is required"})
	}
	if req.Image == "" {
		fields = append(fields, sdk.FieldError{Path: "image", Message: "the workspace image is required"})
	}
	if _, ok := tierLimits[req.Tier]; !ok && req.Tier != 0 {
		fields = append(fields, sdk.FieldError{Path: "tier", Message: fmt.Sprintf("tier %d is not one of 1, 2, 3, 4", req.Tier)})
	}
	for p := range req.ConfigFiles {
		c := path.Clean(p)
		if p == "" || path.IsAbs(p) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
			fields = append(fields, sdk.FieldError{Path: "config_files." + p, Message: fmt.Sprintf("config path %q must be relative and stay inside the config directory", p)})
		}
	}
	for k := range req.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			fields = append(fields, sdk.FieldError{Path: "env." + k, Message: fmt.Sprintf("environment variable name %q is not valid", k)})
		}
	}
	if len(fields) > 0 {
		sort.Slice(fields, func(i, j int) bool { return fields[i].Path < fields[j].Path })
		return sdk.Invalid("start", "The start request is invalid.", fields...)
	}
	return nil
}

// resume starts an existing container whose spec matches the request.
func (s *settings) resume(ctx context.Context, req *sdk.StartRequest, c container.Summary) (*sdk.StartResponse, error) {
	switch c.State {
	case container.StateRunning:
	case container.StateCreated: // never started: its config copy may be incomplete
		if err := s.copyConfig(ctx, c.ID, req.ConfigFiles); err != nil {
			return nil, err
		}
		fallthrough
	default:
		if err := s.call(ctx, "start", "start container", func(ctx context.Context) error {
			_, err := s.cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{})
			return err
		}); err != nil {
			return nil, err
		}
	}
	return s.placed(req, c.ID), nil
}

// create makes the volumes and the container, copies the config, starts it.
func (s *settings) create(ctx context.Context, req *sdk.StartRequest, spec string) (*sdk.StartResponse, error) {
	if err := s.ensureNetwork(ctx); err != nil {
		return nil, err
	}
	if err := s.removeConfigVolume(ctx, req.WorkspaceID); err != nil {
		return nil, err
	}
	hc, err := hostConfig(req.Tier, s.network, mounts(req))
	if err != nil {
		return nil, sdk.Invalid("start", "The start request is invalid.", sdk.FieldError{Path: "tier", Message: err.Error()})
	}
	var id string
	err = s.call(ctx, "start", "create container "+containerName(req.WorkspaceID), func(ctx context.Context) error {
		r, err := s.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:       containerName(req.WorkspaceID),
			Config:     &container.Config{Image: req.Image, User: s.user, Env: env(req), Labels: labels(req, spec)},
			HostConfig: hc,
		})
		id = r.ID
		if cerrdefs.IsNotFound(err) { // the only thing create finds missing
			return imageMissing(req.Image, err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.copyConfig(ctx, id, req.ConfigFiles); err != nil {
		return nil, err
	}
	if err := s.call(ctx, "start", "start container", func(ctx context.Context) error {
		_, err := s.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	return s.placed(req, id), nil
}

// env is the request's environment plus the agent's, which wins. The
// agent's host URL and listen address are the sockets in the agent
// directory, and so is its token file; the request's HostURL is not used.
// A token variable in the request's environment is dropped: the file is the
// one source of the token. HOME defaults to the
// workspace volume: the rest of the root filesystem is read-only.
func env(req *sdk.StartRequest) []string {
	sock := agentapi.AgentDirInWorkspace + "/"
	vars := map[string]string{"HOME": workspaceDir}
	for k, v := range req.Env {
		vars[k] = v
	}
	delete(vars, agentapi.EnvToken)
	vars[agentapi.EnvWorkspaceID] = req.WorkspaceID
	vars[agentapi.EnvHostURL] = agentapi.UnixURLScheme + sock + agentapi.HostSocket
	vars[agentapi.EnvTokenFile] = tokenInWorkspace
	vars[agentapi.EnvConfigDir] = configDir
	vars[agentapi.EnvListenAddr] = agentapi.UnixAddrPrefix + sock + agentapi.AgentSocket
	vars[agentapi.EnvRuntime] = req.Runtime
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// placed returns the response for a started container: its state and the
// agent socket's path on the host's machine.
func (s *settings) placed(req *sdk.StartRequest, id string) *sdk.StartResponse {
	st := state{ContainerID: id, Volumes: []string{configVolume(req.WorkspaceID), dataVolume(req.WorkspaceID)}, Network: s.network}
	return &sdk.StartResponse{State: st.encode(), Endpoint: agentapi.UnixAddrPrefix + req.AgentDir + "/" + agentapi.AgentSocket}
}
