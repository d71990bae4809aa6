package pluginrpc

import (
	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

func (s *grpcServer) Logs(req *pb.LogsRequest, stream grpc.ServerStreamingServer[pb.LogsResponse]) error {
	ctx := stream.Context()
	ls, ok := s.impl.(sdk.LogStreamer)
	if !ok {
		return toStatus("logs", unsupported(s.backendName(ctx), "logs", string(sdk.CapLogs)))
	}
	send := func(c *sdk.LogChunk) error {
		data := c.Data
		for first := true; first || len(data) > 0; first = false {
			n := min(len(data), maxChunk)
			part := *c
			part.Data = data[:n]
			if err := stream.Send(toLogChunk(&part)); err != nil {
				return err
			}
			data = data[n:]
		}
		return nil
	}
	err := ls.Logs(ctx, &sdk.LogsRequest{
		WorkspaceID: req.GetWorkspaceId(), State: fromState(req.GetState()),
		Follow: req.GetFollow(), TailLines: int(req.GetTailLines()),
	}, send)
	return toStatus("logs", err)
}

func (s *grpcServer) Exec(stream grpc.BidiStreamingServer[pb.ExecRequest, pb.ExecResponse]) error {
	ctx := stream.Context()
	ex, ok := s.impl.(sdk.Execer)
	if !ok {
		return toStatus("exec", unsupported(s.backendName(ctx), "exec", string(sdk.CapExec)))
	}
	first, err := stream.Recv()
	if err != nil {
		return toStatus("exec", sdk.Invalid("exec", "The exec stream ended before its start message."))
	}
	start := first.GetStart()
	if start == nil {
		return toStatus("exec", sdk.Invalid("exec", "The first message of an exec stream must be its start message."))
	}
	return toStatus("exec", ex.Exec(ctx, fromExecStart(start), &serverExecStream{stream: stream}))
}

// serverExecStream is the sdk.ExecStream a backend's Exec sees.
type serverExecStream struct {
	stream grpc.BidiStreamingServer[pb.ExecRequest, pb.ExecResponse]
}

func (e *serverExecStream) Recv() (*sdk.ExecInput, error) {
	msg, err := e.stream.Recv()
	if err != nil {
		return nil, err // io.EOF: the user closed stdin
	}
	in := msg.GetInput()
	if in == nil {
		return nil, sdk.Invalid("exec", "An exec stream carries one start message, first.")
	}
	return fromExecInput(in), nil
}

func (e *serverExecStream) Send(o *sdk.ExecOutput) error { return e.stream.Send(toExecOutput(o)) }
