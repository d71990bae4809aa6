// Command molecule-backend-nop is a backend that does nothing, instantly:
// the dispatch benchmark measures Molecule's layers over it, not a
// substrate.
package main

import (
	"context"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

type nop struct{}

func (nop) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{Name: "nop", Version: "0", ProtocolVersion: sdk.ProtocolVersion, Description: "does nothing"}, nil
}
func (nop) Configure(context.Context, *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	return &sdk.ConfigureResponse{}, nil
}
func (nop) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	return &sdk.StartResponse{Address: "127.0.0.1"}, nil
}
func (nop) Stop(context.Context, *sdk.StopRequest) (*sdk.StopResponse, error) {
	return &sdk.StopResponse{}, nil
}
func (nop) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return &sdk.DestroyResponse{}, nil
}
func (nop) Status(_ context.Context, r *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	out := &sdk.StatusResponse{Statuses: make([]sdk.WorkspaceStatus, len(r.Workspaces))}
	for i, w := range r.Workspaces {
		out.Statuses[i] = sdk.WorkspaceStatus{WorkspaceID: w.WorkspaceID, State: sdk.RunStateRunning}
	}
	return out, nil
}
func (nop) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return &sdk.ListManagedResponse{}, nil
}

func main() { pluginrpc.Serve(nop{}) }
