package dispatch

import (
	"context"
	"errors"
	"strings"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Stop stops the workspace on its backend and returns the backend's new
// state. A backend's NotFound is success.
//
// Fallback: only a backend that really holds nothing for the workspace is
// a logged no-op (nil error, nil placement): no backend of that name is
// loaded, or the plugin answers that it is not configured, and the
// workspace was never placed (no backend state, no address). Otherwise,
// and always for a backend that is loaded but unavailable, Stop returns a
// KindTransient error with the reason, so the stop operation is retried
// and the workspace is never shown stopped while its substrate may run.
func (d *Dispatcher) Stop(ctx context.Context, ws *host.Workspace) (*Placement, error) {
	b, _, err := d.resolve(ws.Backend, "stop", sdk.CapStop)
	if errors.Is(err, ErrNoBackend) {
		if sdk.IsKind(err, sdk.KindNotFound) && !placed(ws) {
			d.log.Warn("stop: no such backend and the workspace was never placed, nothing to stop", "workspace", ws.ID, "backend", ws.Backend, "err", err)
			return nil, nil
		}
		return nil, cannotStop(ws, err)
	}
	if err != nil {
		return nil, err
	}
	var resp *sdk.StopResponse
	err = d.call(ctx, b, ws.Backend, "stop", d.timeouts.Stop, func(ctx context.Context) error {
		var err error
		resp, err = b.Stop(ctx, &sdk.StopRequest{WorkspaceID: ws.ID, State: stateOf(ws)})
		return err
	})
	switch {
	case sdk.IsKind(err, sdk.KindNotFound):
		return nil, nil
	case notConfigured(err) && !placed(ws):
		d.log.Warn("stop: backend not configured and the workspace was never placed, nothing to stop", "workspace", ws.ID, "backend", ws.Backend)
		return nil, nil
	case notConfigured(err):
		return nil, cannotStop(ws, err)
	case err != nil:
		return nil, err
	}
	return &Placement{State: resp.State.Data, StateVersion: resp.State.Version, Address: ws.Address}, nil
}

// placed reports whether a backend ever placed the workspace: it saved
// state for it or gave it an address.
func placed(ws *host.Workspace) bool {
	return len(ws.BackendState) > 0 || ws.BackendStateVersion != 0 || ws.Address != ""
}

func notConfigured(err error) bool {
	var e *sdk.Error
	return errors.As(err, &e) && e.Kind == sdk.KindConflict && e.Message == sdk.NotConfiguredMessage
}

// cannotStop is the KindTransient error of a stop that cannot reach a
// backend which may still run the workspace.
func cannotStop(ws *host.Workspace, err error) error {
	return &sdk.Error{Kind: sdk.KindTransient, Op: "stop", Err: err,
		Message: "The workspace cannot be stopped now: " + sentence(message(err)) + " It may still run there; the stop is retried."}
}

func sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
