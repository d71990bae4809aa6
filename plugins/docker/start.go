package docker

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// configDir is where the config volume is mounted in the container.
const configDir = "/configs"

// agentPort is the port the agent binds on a managed network (on host
// networking it binds a free loopback port instead).
const agentPort = "8000"

// Start creates the workspace's container or starts it again; idempotent
// per workspace id. A container whose molecule.spec label matches the
// request is started if stopped (or left running). Any other container of
// the workspace is removed (volumes kept) and a new one is created: config
// volume re-created and filled with the request's files BEFORE the
// container starts, so the agent's first config hash is the request's.
// Returns KindInvalid (bad request), KindConflict (not configured, or a
// foreign network), KindNotFound (image missing), KindTransient (daemon
// unreachable) or KindInternal.
func (b *Backend) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	s, err := b.settings("start")
	if err != nil {
		return nil, err
	}
	if err := validateStart(req); err != nil {
		return nil, err
	}
	spec := specHash(req, s.network)
	existing, err := s.listWorkspace(ctx, "start", req.WorkspaceID)
	if err != nil {
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
	return s.placed(ctx, req.WorkspaceID, c.ID)
}

// create makes the volumes and the container, copies the config, starts it.
func (s *settings) create(ctx context.Context, req *sdk.StartRequest, spec string) (*sdk.StartResponse, error) {
	if err := s.ensureNetwork(ctx); err != nil {
		return nil, err
	}
	if err := s.removeConfigVolume(ctx, req.WorkspaceID); err != nil {
		return nil, err
	}
	hc, err := hostConfig(req.Tier, s.network, volumeMounts(req))
	if err != nil {
		return nil, sdk.Invalid("start", "The start request is invalid.", sdk.FieldError{Path: "tier", Message: err.Error()})
	}
	var id string
	err = s.call(ctx, "start", "create container "+containerName(req.WorkspaceID), func(ctx context.Context) error {
		r, err := s.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:       containerName(req.WorkspaceID),
			Config:     &container.Config{Image: req.Image, Env: s.env(req), Labels: labels(req, spec)},
			HostConfig: hc,
		})
		id = r.ID
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
	return s.placed(ctx, req.WorkspaceID, id)
}

// env is the request's environment plus the agent's, which wins.
func (s *settings) env(req *sdk.StartRequest) []string {
	listen := "127.0.0.1:0"
	if s.network != NetworkHost {
		listen = "0.0.0.0:" + agentPort
	}
	vars := map[string]string{}
	for k, v := range req.Env {
		vars[k] = v
	}
	vars[agentapi.EnvWorkspaceID] = req.WorkspaceID
	vars[agentapi.EnvHostURL] = req.HostURL
	vars[agentapi.EnvToken] = req.AgentToken
	vars[agentapi.EnvConfigDir] = configDir
	vars[agentapi.EnvListenAddr] = listen
	vars[agentapi.EnvRuntime] = req.Runtime
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// placed returns the response for a started container: its state and the
// address its agent is reachable at.
func (s *settings) placed(ctx context.Context, workspaceID, id string) (*sdk.StartResponse, error) {
	st := state{ContainerID: id, Volumes: []string{configVolume(workspaceID), dataVolume(workspaceID)}, Network: s.network}
	if s.network == NetworkHost {
		return &sdk.StartResponse{State: st.encode(), Address: "127.0.0.1"}, nil
	}
	var addr string
	err := s.call(ctx, "start", "inspect container", func(ctx context.Context) error {
		r, err := s.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err == nil && r.Container.NetworkSettings != nil {
			if ep := r.Container.NetworkSettings.Networks[s.network]; ep != nil && ep.IPAddress.IsValid() {
				addr = ep.IPAddress.String()
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if addr == "" {
		return nil, &sdk.Error{Kind: sdk.KindInternal, Op: "start", Message: fmt.Sprintf("container %s has no address on network %s", containerName(workspaceID), s.network)}
	}
	return &sdk.StartResponse{State: st.encode(), Address: addr}, nil
}
