package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// hangGrace is how long a scenario or its cleanup may take to return
// after its context ended before the suite stops waiting for it.
var hangGrace = 10 * time.Second

// maxCleanup bounds a scenario's cleanup stack (and Config.Timeout does
// when it is shorter).
const maxCleanup = 2 * time.Minute

// hangs records the plugin verbs a scenario called directly that had not
// answered when the scenario's context ended: the first one cut off by it,
// or those still in flight.
type hangs struct {
	scenario context.Context
	mu       sync.Mutex
	next     int
	inflight map[int]string
	hung     string
}

func newHangs(scenario context.Context) *hangs {
	return &hangs{scenario: scenario, inflight: map[int]string{}}
}

// phase starts a new phase (the cleanup after the scenario) bounded by
// ctx: only calls made from now on and cut off by ctx count as hung.
func (h *hangs) phase(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.scenario, h.hung, h.inflight = ctx, "", map[int]string{}
}

// begin records a call of verb; end says how it ended.
func (h *hangs) begin(verb string) (end func(err error)) {
	h.mu.Lock()
	id := h.next
	h.next++
	h.inflight[id] = verb
	h.mu.Unlock()
	return func(err error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.inflight, id)
		if err != nil && cutOff(h.scenario) && h.hung == "" {
			h.hung = verb
		}
	}
}

// deadlineSkew is how close to its deadline a context counts as ended: a
// gRPC deadline travels to the plugin, which may give up and answer a hair
// before the caller's own timer fires.
const deadlineSkew = 250 * time.Millisecond

// cutOff reports whether ctx has ended, or is about to by its deadline.
func cutOff(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < deadlineSkew
}

// verb returns the verb the plugin hung in, or "".
func (h *hangs) verb() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hung != "" {
		return h.hung
	}
	first := -1
	for id := range h.inflight {
		if first < 0 || id < first {
			first = id
		}
	}
	if first >= 0 {
		return h.inflight[first]
	}
	return ""
}

// timedOut turns err, the result of work whose context ended after limit,
// into the failure the suite reports: "hung in <verb>" when a direct plugin
// call did not answer in time, else a plain timeout.
func (h *hangs) timedOut(what string, limit time.Duration, err error) error {
	msg := fmt.Sprintf("%s timed out after %s", what, limit)
	if v := h.verb(); v != "" {
		msg = fmt.Sprintf("hung in %s: the plugin did not answer before the %s timeout (%s)", v, what, limit)
	}
	if err == nil || errors.Is(err, errNotReturned) {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// errNotReturned is within's error when fn did not return in time.
var errNotReturned = errors.New("did not return")

// within runs fn and returns its error, or errNotReturned when fn has not
// returned hangGrace after ctx ended: the suite moves on without it.
func within(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(hangGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return errNotReturned
	}
}

// watched is the plugin as a scenario sees it: every call is recorded in
// h, so that a verb which never answers is named in the failure.
type watched struct {
	b sdk.Backend
	h *hangs
}

var (
	_ sdk.Backend     = watched{}
	_ sdk.Filer       = watched{}
	_ sdk.Execer      = watched{}
	_ sdk.LogStreamer = watched{}
)

func call[R any](w watched, verb string, fn func() (R, error)) (R, error) {
	end := w.h.begin(verb)
	out, err := fn()
	end(err)
	return out, err
}

func unsupported(verb string) error {
	return sdk.Errorf(sdk.KindUnsupported, verb, "the plugin client does not implement %s", verb)
}

func (w watched) Manifest(ctx context.Context) (*sdk.Manifest, error) {
	return call(w, "manifest", func() (*sdk.Manifest, error) { return w.b.Manifest(ctx) })
}

func (w watched) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	return call(w, "configure", func() (*sdk.ConfigureResponse, error) { return w.b.Configure(ctx, req) })
}

func (w watched) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	return call(w, "start", func() (*sdk.StartResponse, error) { return w.b.Start(ctx, req) })
}

func (w watched) Stop(ctx context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	return call(w, "stop", func() (*sdk.StopResponse, error) { return w.b.Stop(ctx, req) })
}

func (w watched) Destroy(ctx context.Context, req *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return call(w, "destroy", func() (*sdk.DestroyResponse, error) { return w.b.Destroy(ctx, req) })
}

func (w watched) Status(ctx context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	return call(w, "status", func() (*sdk.StatusResponse, error) { return w.b.Status(ctx, req) })
}

func (w watched) ListManaged(ctx context.Context, req *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return call(w, "list_managed", func() (*sdk.ListManagedResponse, error) { return w.b.ListManaged(ctx, req) })
}

func (w watched) ListFiles(ctx context.Context, req *sdk.ListFilesRequest) (*sdk.ListFilesResponse, error) {
	f, ok := w.b.(sdk.Filer)
	if !ok {
		return nil, unsupported("files")
	}
	return call(w, "list_files", func() (*sdk.ListFilesResponse, error) { return f.ListFiles(ctx, req) })
}

func (w watched) ReadFile(ctx context.Context, req *sdk.ReadFileRequest, send func([]byte) error) error {
	f, ok := w.b.(sdk.Filer)
	if !ok {
		return unsupported("files")
	}
	_, err := call(w, "read_file", func() (struct{}, error) { return struct{}{}, f.ReadFile(ctx, req, send) })
	return err
}

func (w watched) WriteFile(ctx context.Context, req *sdk.WriteFileRequest, recv func() ([]byte, error)) (*sdk.WriteFileResponse, error) {
	f, ok := w.b.(sdk.Filer)
	if !ok {
		return nil, unsupported("files")
	}
	return call(w, "write_file", func() (*sdk.WriteFileResponse, error) { return f.WriteFile(ctx, req, recv) })
}

func (w watched) DeleteFile(ctx context.Context, req *sdk.DeleteFileRequest) (*sdk.DeleteFileResponse, error) {
	f, ok := w.b.(sdk.Filer)
	if !ok {
		return nil, unsupported("files")
	}
	return call(w, "delete_file", func() (*sdk.DeleteFileResponse, error) { return f.DeleteFile(ctx, req) })
}

func (w watched) Exec(ctx context.Context, req *sdk.ExecRequest, stream sdk.ExecStream) error {
	e, ok := w.b.(sdk.Execer)
	if !ok {
		return unsupported("exec")
	}
	_, err := call(w, "exec", func() (struct{}, error) { return struct{}{}, e.Exec(ctx, req, stream) })
	return err
}

func (w watched) Logs(ctx context.Context, req *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	l, ok := w.b.(sdk.LogStreamer)
	if !ok {
		return unsupported("logs")
	}
	_, err := call(w, "logs", func() (struct{}, error) { return struct{}{}, l.Logs(ctx, req, send) })
	return err
}
