package pluginrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

// NewGRPCClient returns the sdk.Backend a host sees over conn, the same
// adapter Dispense returns. It exists for in-process harnesses such as
// sdk/backendtest; a host calls Dispense instead.
func NewGRPCClient(conn grpc.ClientConnInterface) sdk.Backend { return newClient(conn) }

// grpcClient adapts the generated client to sdk.Backend and every optional
// verb interface; a verb the plugin lacks fails with the server's
// KindUnsupported error naming the backend.
type grpcClient struct {
	client pb.BackendServiceClient
}

var (
	_ sdk.Backend     = (*grpcClient)(nil)
	_ sdk.Filer       = (*grpcClient)(nil)
	_ sdk.Execer      = (*grpcClient)(nil)
	_ sdk.LogStreamer = (*grpcClient)(nil)
)

func newClient(conn grpc.ClientConnInterface) *grpcClient {
	return &grpcClient{client: pb.NewBackendServiceClient(conn)}
}

func (c *grpcClient) Manifest(ctx context.Context) (*sdk.Manifest, error) {
	resp, err := c.client.Manifest(ctx, &pb.ManifestRequest{})
	if err != nil {
		return nil, fromStatus(ctx, "manifest", err)
	}
	return fromManifest(resp), nil
}

func (c *grpcClient) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if _, err := c.client.Configure(ctx, &pb.ConfigureRequest{Config: req.Config}); err != nil {
		return nil, fromStatus(ctx, "configure", err)
	}
	return &sdk.ConfigureResponse{}, nil
}

func (c *grpcClient) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	resp, err := c.client.Start(ctx, toStartRequest(req))
	if err != nil {
		return nil, fromStatus(ctx, "start", err)
	}
	return &sdk.StartResponse{State: fromState(resp.GetState()), Address: resp.GetAddress(), Endpoint: resp.GetEndpoint()}, nil
}

func (c *grpcClient) Stop(ctx context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	resp, err := c.client.Stop(ctx, &pb.StopRequest{WorkspaceId: req.WorkspaceID, State: toState(req.State)})
	if err != nil {
		return nil, fromStatus(ctx, "stop", err)
	}
	return &sdk.StopResponse{State: fromState(resp.GetState())}, nil
}

func (c *grpcClient) Destroy(ctx context.Context, req *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	_, err := c.client.Destroy(ctx, &pb.DestroyRequest{
		WorkspaceId: req.WorkspaceID, State: toState(req.State), RemoveVolumes: req.RemoveVolumes,
	})
	if err != nil {
		return nil, fromStatus(ctx, "destroy", err)
	}
	return &sdk.DestroyResponse{}, nil
}

func (c *grpcClient) Status(ctx context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	resp, err := c.client.Status(ctx, &pb.StatusRequest{Workspaces: toWorkspaceRefs(req.Workspaces)})
	if err != nil {
		return nil, fromStatus(ctx, "status", err)
	}
	return &sdk.StatusResponse{Statuses: fromStatuses(resp.GetStatuses())}, nil
}

func (c *grpcClient) ListManaged(ctx context.Context, req *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	resp, err := c.client.ListManaged(ctx, &pb.ListManagedRequest{OrgId: req.OrgID})
	if err != nil {
		return nil, fromStatus(ctx, "list_managed", err)
	}
	return &sdk.ListManagedResponse{Workspaces: fromManaged(resp.GetWorkspaces())}, nil
}
