package pluginrpc

import (
	"context"
	"errors"
	"io"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

// Logs passes each received chunk to send until the plugin ends the stream
// or ctx ends; an error from send ends the stream and is returned as is.
func (c *grpcClient) Logs(ctx context.Context, req *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.Logs(ctx, &pb.LogsRequest{
		WorkspaceId: req.WorkspaceID, State: toState(req.State), Follow: req.Follow, TailLines: int64(req.TailLines),
	}, replyLimit("logs"))
	if err != nil {
		return c.fromStatus(ctx, "logs", err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return c.fromStatus(ctx, "logs", err)
		}
		if err := send(fromLogChunk(msg)); err != nil {
			return err
		}
	}
}

// Exec runs the process, copying user input to the plugin from a goroutine
// and the plugin's output to user until the plugin ends the stream. io.EOF
// from user.Recv closes stdin; another error cancels the call and is
// returned.
func (c *grpcClient) Exec(ctx context.Context, req *sdk.ExecRequest, user sdk.ExecStream) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.Exec(ctx, replyLimit("exec"))
	if err != nil {
		return c.fromStatus(ctx, "exec", err)
	}
	if err := stream.Send(toExecStart(req)); err != nil && !errors.Is(err, io.EOF) {
		return c.fromStatus(ctx, "exec", err)
	}
	inErr := make(chan error, 1)
	go func() {
		for {
			in, err := user.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					inErr <- err
					cancel()
				}
				_ = stream.CloseSend()
				return
			}
			if stream.Send(toExecInput(in)) != nil {
				return // the stream ended; Recv below reports why
			}
		}
	}()
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			select {
			case e := <-inErr:
				return e
			default:
			}
			return c.fromStatus(ctx, "exec", err)
		}
		if err := user.Send(fromExecOutput(msg)); err != nil {
			return err
		}
	}
}
