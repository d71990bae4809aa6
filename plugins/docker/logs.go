package docker

import (
	"context"
	"strconv"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Logs streams the workspace container's output (docker logs), stdout and
// stderr demultiplexed into chunks, the last TailLines lines when set, and
// with Follow until ctx ends or the container stops. Returns KindNotFound
// when the workspace has no container, KindConflict (not configured),
// KindTransient or KindInternal.
func (b *Backend) Logs(ctx context.Context, req *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	s, err := b.settings("logs")
	if err != nil {
		return err
	}
	existing, err := s.listWorkspace(ctx, "logs", req.WorkspaceID)
	if err != nil {
		return err
	}
	if len(existing) == 0 {
		return sdk.Errorf(sdk.KindNotFound, "logs", "workspace %s has no container", req.WorkspaceID)
	}
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: req.Follow}
	if req.TailLines > 0 {
		opts.Tail = strconv.Itoa(req.TailLines)
	}
	streamCtx := ctx
	if !req.Follow {
		var cancel context.CancelFunc
		streamCtx, cancel = context.WithTimeout(ctx, s.callTimeout)
		defer cancel()
	}
	rc, err := s.cli.ContainerLogs(streamCtx, existing[0].ID, opts)
	if err != nil {
		return s.mapErr(streamCtx, "logs", "container logs", err)
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(chunkWriter{"stdout", send}, chunkWriter{"stderr", send}, rc)
	if err != nil && ctx.Err() != nil {
		return nil // the caller stopped following
	}
	return s.mapErr(streamCtx, "logs", "read container logs", err)
}

// chunkWriter sends every write as one LogChunk of its stream.
type chunkWriter struct {
	stream string
	send   func(*sdk.LogChunk) error
}

func (w chunkWriter) Write(p []byte) (int, error) {
	data := append([]byte(nil), p...)
	if err := w.send(&sdk.LogChunk{Data: data, Stream: w.stream, Time: time.Now()}); err != nil {
		return 0, err
	}
	return len(p), nil
}
