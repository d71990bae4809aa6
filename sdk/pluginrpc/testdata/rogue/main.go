// Command rogue is a misbehaving backend plugin for tests of the plugin
// glue and the host's plugin manager. It reads what to do wrong from
// $MOLECULE_BACKEND_DATA_DIR/rogue.json on every call (a missing file: it
// behaves), so one binary serves every test.
package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// behaviour is rogue.json.
type behaviour struct {
	Name          string `json:"name"`           // manifest name; default the file name without molecule-backend-
	HangManifest  bool   `json:"hang_manifest"`  // hang in Manifest (after Serve's own start-up check)
	HangConfigure bool   `json:"hang_configure"` // hang in Configure until the call is canceled
	PanicStart    bool   `json:"panic_start"`    // panic in Start
	NilStart      bool   `json:"nil_start"`      // Start returns nil, nil
	StartAddress  int    `json:"start_address"`  // Start's reply carries an address of this many bytes
	StopError     int    `json:"stop_error"`     // Stop fails with a message of this many bytes
}

func load() behaviour {
	var b behaviour
	data, err := os.ReadFile(filepath.Join(os.Getenv(sdk.EnvDataDir), "rogue.json"))
	if err == nil {
		_ = json.Unmarshal(data, &b)
	}
	if b.Name == "" {
		b.Name = strings.TrimPrefix(filepath.Base(os.Args[0]), "molecule-backend-")
	}
	return b
}

type rogue struct{ manifests atomic.Int64 }

func (r *rogue) Manifest(ctx context.Context) (*sdk.Manifest, error) {
	b := load()
	if r.manifests.Add(1) > 1 && b.HangManifest {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &sdk.Manifest{Name: b.Name, Version: "0", ProtocolVersion: sdk.ProtocolVersion}, nil
}

func (r *rogue) Configure(ctx context.Context, _ *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if load().HangConfigure {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &sdk.ConfigureResponse{}, nil
}

func (r *rogue) Start(_ context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	b := load()
	switch {
	case b.PanicStart:
		panic("rogue panic in start of " + req.WorkspaceID)
	case b.NilStart:
		return nil, nil
	}
	return &sdk.StartResponse{Address: strings.Repeat("a", b.StartAddress)}, nil
}

func (r *rogue) Stop(_ context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	if n := load().StopError; n > 0 {
		return nil, sdk.Errorf(sdk.KindConflict, "stop", "%s", strings.Repeat("e", n))
	}
	return &sdk.StopResponse{State: req.State}, nil
}

func (r *rogue) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return &sdk.DestroyResponse{}, nil
}

func (r *rogue) Status(_ context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	out := &sdk.StatusResponse{}
	for _, w := range req.Workspaces {
		out.Statuses = append(out.Statuses, sdk.WorkspaceStatus{WorkspaceID: w.WorkspaceID, State: sdk.RunStateRunning})
	}
	return out, nil
}

func (r *rogue) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return &sdk.ListManagedResponse{}, nil
}

func main() { pluginrpc.Serve(&rogue{}) }
