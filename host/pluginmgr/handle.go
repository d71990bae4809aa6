package pluginmgr

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// handle is the sdk.Backend Manager.Backend returns: it forwards each verb
// to the plugin's current process and retries once across a restart.
type handle struct {
	p *proc
}

var (
	_ sdk.Backend     = (*handle)(nil)
	_ sdk.Filer       = (*handle)(nil)
	_ sdk.Execer      = (*handle)(nil)
	_ sdk.LogStreamer = (*handle)(nil)
)

// call runs fn against the current process. When fn fails because the
// process is unreachable and retryable reports that the call had no visible
// effect yet (no stream data sent or received), it waits for the
// supervisor's restart and runs fn once more on the new process. Whenever
// the call ends in an error because the process was lost, that error wraps
// ErrPluginExited, also when the restart ended in unavailable (a crash
// loop) or ctx ended while waiting for it.
func call[T any](ctx context.Context, h *handle, op string, retryable func() bool, fn func(sdk.Backend) (T, error)) (T, error) {
	var zero T
	b, gen, err := h.p.current(ctx, op, 0)
	if err != nil {
		return zero, err
	}
	out, err := fn(b)
	if !errors.Is(err, pluginrpc.ErrPluginUnavailable) || !retryable() {
		return out, err
	}
	h.p.failed(gen)
	h.p.log.Debug("plugin unreachable, retrying after restart", "op", op)
	b, _, cerr := h.p.current(ctx, op, gen)
	if cerr != nil {
		return zero, exited(cerr)
	}
	return fn(b)
}

// exited returns err, an *sdk.Error from waiting for a restart, as the
// error of a call during which the plugin exited: it wraps ErrPluginExited
// and its message says "The backend plugin exited during the call", the
// words host/lifecycle reads (it may not import this package or pluginrpc).
func exited(err error) error {
	var se *sdk.Error
	if !errors.As(err, &se) {
		return &sdk.Error{Kind: sdk.KindTransient, Message: "The backend plugin exited during the call.", Err: errors.Join(ErrPluginExited, err)}
	}
	out := *se
	out.Message = "The backend plugin exited during the call; " + se.Message
	out.Err = errors.Join(ErrPluginExited, se.Err)
	return &out
}

func always() bool { return true }

// HonoursCancellation marks the handle for host/dispatch: every call is a
// gRPC call, which returns as soon as its context ends, so the dispatcher
// need not run it in a goroutine it could abandon.
func (h *handle) HonoursCancellation() {}

func (h *handle) Manifest(ctx context.Context) (*sdk.Manifest, error) {
	return call(ctx, h, "manifest", always, func(b sdk.Backend) (*sdk.Manifest, error) { return b.Manifest(ctx) })
}

func (h *handle) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	return call(ctx, h, "configure", always, func(b sdk.Backend) (*sdk.ConfigureResponse, error) { return b.Configure(ctx, req) })
}

func (h *handle) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	return call(ctx, h, "start", always, func(b sdk.Backend) (*sdk.StartResponse, error) { return b.Start(ctx, req) })
}

func (h *handle) Stop(ctx context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	return call(ctx, h, "stop", always, func(b sdk.Backend) (*sdk.StopResponse, error) { return b.Stop(ctx, req) })
}

func (h *handle) Destroy(ctx context.Context, req *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return call(ctx, h, "destroy", always, func(b sdk.Backend) (*sdk.DestroyResponse, error) { return b.Destroy(ctx, req) })
}

func (h *handle) Status(ctx context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	return call(ctx, h, "status", always, func(b sdk.Backend) (*sdk.StatusResponse, error) { return b.Status(ctx, req) })
}

func (h *handle) ListManaged(ctx context.Context, req *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return call(ctx, h, "list_managed", always, func(b sdk.Backend) (*sdk.ListManagedResponse, error) { return b.ListManaged(ctx, req) })
}

// unsupported is returned when the dispensed client lacks an optional verb.
func (h *handle) unsupported(op string) error {
	return sdk.Errorf(sdk.KindUnsupported, op, "backend %q does not implement %s", h.p.fallbackName(), op)
}

func (h *handle) ListFiles(ctx context.Context, req *sdk.ListFilesRequest) (*sdk.ListFilesResponse, error) {
	return call(ctx, h, "files", always, func(b sdk.Backend) (*sdk.ListFilesResponse, error) {
		f, ok := b.(sdk.Filer)
		if !ok {
			return nil, h.unsupported("files")
		}
		return f.ListFiles(ctx, req)
	})
}

func (h *handle) DeleteFile(ctx context.Context, req *sdk.DeleteFileRequest) (*sdk.DeleteFileResponse, error) {
	return call(ctx, h, "files", always, func(b sdk.Backend) (*sdk.DeleteFileResponse, error) {
		f, ok := b.(sdk.Filer)
		if !ok {
			return nil, h.unsupported("files")
		}
		return f.DeleteFile(ctx, req)
	})
}

// ReadFile is retried across a restart only if no chunk reached send.
func (h *handle) ReadFile(ctx context.Context, req *sdk.ReadFileRequest, send func([]byte) error) error {
	var sent atomic.Bool
	_, err := call(ctx, h, "files", func() bool { return !sent.Load() }, func(b sdk.Backend) (struct{}, error) {
		f, ok := b.(sdk.Filer)
		if !ok {
			return struct{}{}, h.unsupported("files")
		}
		return struct{}{}, f.ReadFile(ctx, req, func(p []byte) error { sent.Store(true); return send(p) })
	})
	return err
}

// WriteFile is retried across a restart only if recv was never called.
func (h *handle) WriteFile(ctx context.Context, req *sdk.WriteFileRequest, recv func() ([]byte, error)) (*sdk.WriteFileResponse, error) {
	var used atomic.Bool
	return call(ctx, h, "files", func() bool { return !used.Load() }, func(b sdk.Backend) (*sdk.WriteFileResponse, error) {
		f, ok := b.(sdk.Filer)
		if !ok {
			return nil, h.unsupported("files")
		}
		return f.WriteFile(ctx, req, func() ([]byte, error) { used.Store(true); return recv() })
	})
}

// Logs is retried across a restart only if no chunk reached send.
func (h *handle) Logs(ctx context.Context, req *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	var sent atomic.Bool
	_, err := call(ctx, h, "logs", func() bool { return !sent.Load() }, func(b sdk.Backend) (struct{}, error) {
		l, ok := b.(sdk.LogStreamer)
		if !ok {
			return struct{}{}, h.unsupported("logs")
		}
		return struct{}{}, l.Logs(ctx, req, func(c *sdk.LogChunk) error { sent.Store(true); return send(c) })
	})
	return err
}

// Exec is retried across a restart only if nothing was read from or
// written to the stream.
func (h *handle) Exec(ctx context.Context, req *sdk.ExecRequest, stream sdk.ExecStream) error {
	s := &trackedStream{ExecStream: stream}
	_, err := call(ctx, h, "exec", func() bool { return !s.used.Load() }, func(b sdk.Backend) (struct{}, error) {
		e, ok := b.(sdk.Execer)
		if !ok {
			return struct{}{}, h.unsupported("exec")
		}
		return struct{}{}, e.Exec(ctx, req, s)
	})
	return err
}

// trackedStream records whether an exec stream carried anything.
type trackedStream struct {
	sdk.ExecStream
	used atomic.Bool
}

func (s *trackedStream) Recv() (*sdk.ExecInput, error) {
	s.used.Store(true)
	return s.ExecStream.Recv()
}
func (s *trackedStream) Send(o *sdk.ExecOutput) error {
	s.used.Store(true)
	return s.ExecStream.Send(o)
}
