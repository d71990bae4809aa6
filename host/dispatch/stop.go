package dispatch

import (
	"context"
	"errors"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Stop stops the workspace on its backend and returns the backend's new
// state. Fallback: with no usable backend it is a logged no-op (nil error,
// nil placement): nothing can be running on a backend that is gone. A
// backend's NotFound is success.
func (d *Dispatcher) Stop(ctx context.Context, ws *host.Workspace) (*Placement, error) {
	b, _, err := d.resolve(ws.Backend, "stop", sdk.CapStop)
	if errors.Is(err, ErrNoBackend) {
		d.log.Warn("stop: no usable backend, nothing to stop", "workspace", ws.ID, "backend", ws.Backend, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var resp *sdk.StopResponse
	err = d.call(ctx, "stop", func(ctx context.Context) error {
		var err error
		resp, err = b.Stop(ctx, &sdk.StopRequest{WorkspaceID: ws.ID, State: stateOf(ws)})
		return err
	})
	if sdk.IsKind(err, sdk.KindNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Placement{State: resp.State.Data, StateVersion: resp.State.Version, Address: ws.Address}, nil
}
