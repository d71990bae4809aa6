// Command molecule-backend-nop is a backend that does nothing, instantly:
// the benchmarks measure Molecule's layers over it, not a substrate.
//
// Status answers every workspace "running" with the Detail
// "call=<n> batch=<size>", n counting the Status calls this process served,
// so a benchmark can prove how many plugin calls a sweep took. Logs streams
// log_bytes zero bytes (default 1 MiB) in chunks of log_chunk bytes
// (default 256 KiB), both set through Configure.
package main

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/molecule-ai/molecule-host/bench"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

type nop struct {
	statusCalls atomic.Int64
	logBytes    atomic.Int64
	logChunk    atomic.Int64
}

var (
	_ sdk.Backend     = (*nop)(nil)
	_ sdk.LogStreamer = (*nop)(nil)
)

func (*nop) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{Name: "nop", Version: "0", ProtocolVersion: sdk.ProtocolVersion, Description: "does nothing"}, nil
}

func (n *nop) Configure(_ context.Context, r *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	var fields []sdk.FieldError
	total := sizeOf(r.Config, "log_bytes", 1<<20, 0, &fields)
	chunk := sizeOf(r.Config, "log_chunk", 256<<10, 1, &fields)
	if len(fields) > 0 {
		return nil, &sdk.Error{Kind: sdk.KindInvalid, Op: "configure", Message: "The nop backend's config is invalid.", Fields: fields}
	}
	n.logBytes.Store(total)
	n.logChunk.Store(chunk)
	return &sdk.ConfigureResponse{}, nil
}

// sizeOf reads a byte count of at least least from cfg[key], or def when
// unset; a bad value is added to fields.
func sizeOf(cfg map[string]string, key string, def, least int64, fields *[]sdk.FieldError) int64 {
	s, ok := cfg[key]
	if !ok {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < least {
		*fields = append(*fields, sdk.FieldError{Path: key, Message: fmt.Sprintf("%q is not a byte count of at least %d", s, least)})
	}
	return v
}

func (*nop) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	return &sdk.StartResponse{Address: "127.0.0.1"}, nil
}

func (*nop) Stop(context.Context, *sdk.StopRequest) (*sdk.StopResponse, error) {
	return &sdk.StopResponse{}, nil
}

func (*nop) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return &sdk.DestroyResponse{}, nil
}

func (n *nop) Status(_ context.Context, r *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	detail := fmt.Sprintf("call=%d batch=%d", n.statusCalls.Add(1), len(r.Workspaces))
	out := &sdk.StatusResponse{Statuses: make([]sdk.WorkspaceStatus, len(r.Workspaces))}
	for i, w := range r.Workspaces {
		out.Statuses[i] = sdk.WorkspaceStatus{WorkspaceID: w.WorkspaceID, State: sdk.RunStateRunning, Detail: detail}
	}
	return out, nil
}

func (*nop) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return &sdk.ListManagedResponse{}, nil
}

func (n *nop) Logs(_ context.Context, _ *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	return bench.SendChunks(int(n.logBytes.Load()), make([]byte, n.logChunk.Load()), func(p []byte) error {
		return send(&sdk.LogChunk{Data: p, Stream: "console"})
	})
}

func main() {
	n := &nop{}
	n.logBytes.Store(1 << 20)
	n.logChunk.Store(256 << 10)
	pluginrpc.Serve(n)
}
