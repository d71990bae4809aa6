package dispatch

import (
	"context"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Managed is one workspace a backend holds resources for.
type Managed struct {
	Backend     string
	WorkspaceID string
	State       sdk.RunState
	Resources   []string
}

// ListManaged lists what the named backend holds. Fallback: with no usable
// backend it returns the registry's error and no list; the orphan sweep
// skips that backend and reports why.
func (d *Dispatcher) ListManaged(ctx context.Context, backend string) ([]Managed, error) {
	b, _, err := d.resolve(backend, "list_managed", sdk.CapListManaged)
	if err != nil {
		return nil, err
	}
	var resp *sdk.ListManagedResponse
	err = d.call(ctx, b, backend, "list_managed", d.timeouts.ListManaged, func(ctx context.Context) error {
		var err error
		resp, err = b.ListManaged(ctx, &sdk.ListManagedRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Managed, len(resp.Workspaces))
	for i, w := range resp.Workspaces {
		out[i] = Managed{Backend: backend, WorkspaceID: w.WorkspaceID, State: w.State, Resources: w.Resources}
	}
	return out, nil
}
