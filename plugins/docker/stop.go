package docker

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
)

// stopGraceSeconds is how long a container gets to exit after SIGTERM.
const stopGraceSeconds = 5

// Stop stops the workspace's container with a short grace period and keeps
// it and its volumes. Idempotent: a stopped or missing container is
// success. Returns KindConflict (not configured), KindTransient or
// KindInternal.
func (b *Backend) Stop(ctx context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	s, err := b.settings("stop")
	if err != nil {
		return nil, err
	}
	existing, err := s.listWorkspace(ctx, "stop", req.WorkspaceID)
	if err != nil {
		return nil, err
	}
	grace := stopGraceSeconds
	for _, c := range existing {
		err := s.call(ctx, "stop", "stop container", func(ctx context.Context) error {
			_, err := s.cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: &grace})
			return err
		})
		if err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	return &sdk.StopResponse{State: req.State}, nil
}
