package docker

import (
	"context"
	"sort"
	"strings"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
)

// ListManaged lists every workspace the backend holds containers or
// volumes for (by the managed label, narrowed to OrgID when given), with
// each resource named ("container molecule-ws-<id>", "volume
// molecule-ws-<id>-config"). Returns KindConflict (not configured),
// KindTransient or KindInternal.
func (b *Backend) ListManaged(ctx context.Context, req *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	s, err := b.settings("list_managed")
	if err != nil {
		return nil, err
	}
	containers, err := s.listManagedContainers(ctx, "list_managed", req.OrgID)
	if err != nil {
		return nil, err
	}
	byID := map[string]*sdk.ManagedWorkspace{}
	get := func(id string) *sdk.ManagedWorkspace {
		if byID[id] == nil {
			byID[id] = &sdk.ManagedWorkspace{WorkspaceID: id, State: sdk.RunStateMissing}
		}
		return byID[id]
	}
	for _, c := range containers {
		w := get(c.Labels[LabelWorkspaceID])
		if st := runState(c.State); w.State != sdk.RunStateRunning {
			w.State = st
		}
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		w.Resources = append(w.Resources, "container "+name)
	}
	f := make(client.Filters).Add("label", LabelManaged+"=true")
	if req.OrgID != "" {
		f.Add("label", LabelOrgID+"="+req.OrgID)
	}
	err = s.call(ctx, "list_managed", "list volumes", func(ctx context.Context) error {
		r, err := s.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		for _, v := range r.Items {
			if id := v.Labels[LabelWorkspaceID]; id != "" {
				w := get(id)
				w.Resources = append(w.Resources, "volume "+v.Name)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	resp := &sdk.ListManagedResponse{}
	for _, id := range sortedKeys(byID) {
		w := byID[id]
		if w.WorkspaceID == "" {
			continue // a managed resource without a workspace id (e.g. the network)
		}
		sort.Strings(w.Resources)
		resp.Workspaces = append(resp.Workspaces, *w)
	}
	return resp, nil
}
