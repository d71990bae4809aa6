// Temporary stand-in for the fake plugin (removed once cmd/molecule-backend-fake lands).
package main

import (
	"context"
	"os"
	"strings"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

type be struct{ faults string; configured bool }

func (b *be) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{Name: "fake", Version: "0", ProtocolVersion: sdk.ProtocolVersion}, nil
}
func (b *be) Configure(_ context.Context, r *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	b.faults = r.Config["fault_file"]; b.configured = true
	return &sdk.ConfigureResponse{}, nil
}
func (b *be) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) { return nil, nil }
func (b *be) Stop(context.Context, *sdk.StopRequest) (*sdk.StopResponse, error)    { return nil, nil }
func (b *be) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return nil, nil
}
func (b *be) Status(ctx context.Context, r *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	if !b.configured {
		return nil, sdk.NotConfigured("status")
	}
	data, _ := os.ReadFile(b.faults)
	s := string(data)
	if strings.Contains(s, `"count":-1`) {
		os.Exit(3)
	}
	if strings.Contains(s, `"count":1`) {
		os.WriteFile(b.faults, nil, 0o644)
		os.Exit(3)
	}
	return &sdk.StatusResponse{}, nil
}
func (b *be) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return &sdk.ListManagedResponse{}, nil
}

func main() { pluginrpc.Serve(&be{}) }
