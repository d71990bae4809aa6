package dispatch

import (
	"context"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Destroy removes every resource the backend holds for the workspace,
// volumes included. Fallback: with no usable backend it returns the
// registry's error (KindTransient or KindNotFound wrapping ErrNoBackend) so
// the delete operation is retried rather than forgetting resources that may
// still exist. A backend's NotFound is success.
func (d *Dispatcher) Destroy(ctx context.Context, ws *host.Workspace) error {
	b, _, err := d.resolve(ws.Backend, "destroy", sdk.CapDestroy)
	if err != nil {
		return err
	}
	err = d.call(ctx, b, ws.Backend, "destroy", d.timeouts.Destroy, func(ctx context.Context) error {
		_, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: ws.ID, State: stateOf(ws), RemoveVolumes: true})
		return err
	})
	if sdk.IsKind(err, sdk.KindNotFound) {
		return nil
	}
	return err
}
