package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// listWorkspace lists every container (running or not) of one workspace.
func (s *settings) listWorkspace(ctx context.Context, op, workspaceID string) ([]container.Summary, error) {
	var items []container.Summary
	err := s.call(ctx, op, "list containers", func(ctx context.Context) error {
		r, err := s.cli.ContainerList(ctx, client.ContainerListOptions{
			All:     true,
			Filters: make(client.Filters).Add("label", LabelManaged+"=true", LabelWorkspaceID+"="+workspaceID),
		})
		items = r.Items
		return err
	})
	return items, err
}

// removeContainer force-removes a container, keeping its named volumes; a
// missing container is success.
func (s *settings) removeContainer(ctx context.Context, op, id string) error {
	err := s.call(ctx, op, "remove container", func(ctx context.Context) error {
		_, err := s.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// removeConfigVolume removes the workspace's config volume, so the next
// container starts with exactly the request's config files (its content
// derives from the request); a missing volume is success.
func (s *settings) removeConfigVolume(ctx context.Context, workspaceID string) error {
	err := s.call(ctx, "start", "remove config volume", func(ctx context.Context) error {
		_, err := s.cli.VolumeRemove(ctx, configVolume(workspaceID), client.VolumeRemoveOptions{Force: true})
		return err
	})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// mounts mounts the config volume at /configs, the data volume at
// /workspace and the request's agent directory (read-write: the agent
// creates its socket there) at agentapi.AgentDirInWorkspace. The daemon
// creates a missing volume as part of ContainerCreate, labelled like
// everything else this backend makes and owned like the image's mount
// point (the workspace image's /workspace belongs to DefaultUser), which
// saves two calls on every create; an existing data volume is kept.
func mounts(req *sdk.StartRequest) []mount.Mount {
	opts := &mount.VolumeOptions{Labels: labels(req, "")}
	return []mount.Mount{
		{Type: mount.TypeVolume, Source: configVolume(req.WorkspaceID), Target: configDir, VolumeOptions: opts},
		{Type: mount.TypeVolume, Source: dataVolume(req.WorkspaceID), Target: workspaceDir, VolumeOptions: opts},
		{Type: mount.TypeBind, Source: req.AgentDir, Target: agentapi.AgentDirInWorkspace},
	}
}

// copyConfig copies the config files into the container's config directory
// as one tar (the container must not be running yet for sync delivery).
func (s *settings) copyConfig(ctx context.Context, id string, files map[string][]byte) error {
	archive, err := configTar(files)
	if err != nil {
		return &sdk.Error{Kind: sdk.KindInternal, Op: "start", Message: "could not pack the config files", Err: err}
	}
	return s.call(ctx, "start", "copy config into container", func(ctx context.Context) error {
		_, err := s.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: configDir, Content: bytes.NewReader(archive)})
		return err
	})
}

// configTar packs files (validated relative paths) with their parent
// directories, in sorted order.
func configTar(files map[string][]byte) ([]byte, error) {
	clean := make(map[string][]byte, len(files))
	dirs := map[string]bool{}
	for p, c := range files {
		p = path.Clean(p)
		clean[p] = c
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, d := range sortedKeys(dirs) { // parents sort before their children
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: now}); err != nil {
			return nil, err
		}
	}
	for _, p := range sortedKeys(clean) {
		c := clean[p]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(c)), ModTime: now}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(c); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	return buf.Bytes(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// iccOption is the bridge driver option that, set to "false", stops
// containers on the network from reaching each other.
const iccOption = "com.docker.network.bridge.enable_icc"

// ensureNetwork makes sure the configured network exists: "none" always
// does; any other name is created labelled managed, with egress (not
// internal) and without inter-container traffic, so the workspaces on it
// cannot reach each other. An existing network not labelled managed is
// KindConflict; a managed one created by an older version (internal, or
// with inter-container traffic) is removed and created again, or is
// KindConflict while containers still use it.
func (s *settings) ensureNetwork(ctx context.Context) error {
	if s.network == NetworkNone {
		return nil
	}
	var found bool
	var nw network.Inspect
	err := s.call(ctx, "start", "inspect network "+s.network, func(ctx context.Context) error {
		r, err := s.cli.NetworkInspect(ctx, s.network, client.NetworkInspectOptions{})
		found, nw = err == nil, r.Network
		return err
	})
	switch {
	case found && nw.Labels[LabelManaged] != "true":
		return sdk.Errorf(sdk.KindConflict, "start", "network %s exists and is not managed by Molecule; choose another name or \"none\"", s.network)
	case found && !nw.Internal && nw.Options[iccOption] == "false":
		return nil
	case found:
		if err := s.replaceNetwork(ctx); err != nil {
			return err
		}
	case !isNotFound(err):
		return err
	}
	err = s.call(ctx, "start", "create network "+s.network, func(ctx context.Context) error {
		_, err := s.cli.NetworkCreate(ctx, s.network, client.NetworkCreateOptions{
			Driver:  network.NetworkBridge,
			Options: map[string]string{iccOption: "false"},
			Labels:  map[string]string{LabelManaged: "true"},
		})
		return err
	})
	if sdk.IsKind(err, sdk.KindConflict) { // created concurrently
		return nil
	}
	return err
}

// replaceNetwork removes a managed network created with older settings.
func (s *settings) replaceNetwork(ctx context.Context) error {
	err := s.call(ctx, "start", "remove outdated network "+s.network, func(ctx context.Context) error {
		_, err := s.cli.NetworkRemove(ctx, s.network, client.NetworkRemoveOptions{})
		return err
	})
	if err == nil || isNotFound(err) {
		return nil
	}
	if sdk.IsKind(err, sdk.KindConflict) || sdk.IsKind(err, sdk.KindInternal) { // in use: 403 from the daemon
		return &sdk.Error{Kind: sdk.KindConflict, Op: "start", Err: err, Message: fmt.Sprintf(
			"network %s was created by an older version of this backend (internal, or letting workspaces reach each other) and could not be replaced (%s); it is replaced once no container uses it",
			s.network, firstLine(err))}
	}
	return err
}
