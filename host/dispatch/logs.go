package dispatch

import (
	"context"
	"errors"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// LogsOptions select the output of a Logs call.
type LogsOptions struct {
	Follow    bool
	TailLines int
}

// Logs streams the workspace's boot and console output to send, chunk by
// chunk, until the backend ends the stream or ctx ends. A backend whose
// manifest lacks the logs capability gives KindUnsupported (501) without a
// plugin call. Streams are not retried. A read without Follow is bounded
// by Timeouts.Logs; a follow lasts until ctx ends.
func (d *Dispatcher) Logs(ctx context.Context, ws *host.Workspace, opt LogsOptions, send func([]byte) error) error {
	b, _, err := d.resolve(ws.Backend, "logs", sdk.CapLogs)
	if err != nil {
		return err
	}
	ls, ok := b.(sdk.LogStreamer)
	if !ok {
		return NotImplemented(ws.Backend, "logs", sdk.CapLogs)
	}
	cctx := ctx
	if !opt.Follow {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, d.timeouts.Logs)
		defer cancel()
	}
	err = ls.Logs(cctx, &sdk.LogsRequest{WorkspaceID: ws.ID, State: stateOf(ws), Follow: opt.Follow, TailLines: opt.TailLines},
		func(c *sdk.LogChunk) error { return send(c.Data) })
	if err != nil && cctx.Err() != nil && ctx.Err() == nil {
		return Timeout(ws.Backend, "logs", d.timeouts.Logs)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // the client went away; that is how a follow ends
	}
	return err
}
