package docker

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Destroy force-removes the workspace's containers and, when RemoveVolumes
// is set, every volume labelled with its workspace id. Idempotent: nothing
// left is success. Returns KindConflict (not configured), KindTransient or
// KindInternal.
func (b *Backend) Destroy(ctx context.Context, req *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	s, err := b.settings("destroy")
	if err != nil {
		return nil, err
	}
	existing, err := s.listWorkspace(ctx, "destroy", req.WorkspaceID)
	if err != nil {
		return nil, err
	}
	for _, c := range existing {
		if err := s.removeContainer(ctx, "destroy", c.ID); err != nil {
			return nil, err
		}
	}
	if !req.RemoveVolumes {
		return &sdk.DestroyResponse{}, nil
	}
	var names []string
	err = s.call(ctx, "destroy", "list volumes", func(ctx context.Context) error {
		r, err := s.cli.VolumeList(ctx, client.VolumeListOptions{
			Filters: make(client.Filters).Add("label", LabelManaged+"=true", LabelWorkspaceID+"="+req.WorkspaceID),
		})
		for _, v := range r.Items {
			names = append(names, v.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		err := s.call(ctx, "destroy", "remove volume "+name, func(ctx context.Context) error {
			_, err := s.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true})
			return err
		})
		if err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	return &sdk.DestroyResponse{}, nil
}
