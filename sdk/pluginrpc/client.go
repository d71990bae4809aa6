package pluginrpc

import (
	"context"
	"sync/atomic"

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
	name   atomic.Pointer[string] // the backend's name, once Manifest answered
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
	resp, err := c.client.Manifest(ctx, &pb.ManifestRequest{}, replyLimit("manifest"))
	if err != nil {
		return nil, c.fromStatus(ctx, "manifest", err)
	}
	m := fromManifest(resp)
	c.name.Store(&m.Name)
	return m, nil
}

// fromStatus is the package's fromStatus naming this client's backend.
func (c *grpcClient) fromStatus(ctx context.Context, op string, err error) error {
	name := ""
	if n := c.name.Load(); n != nil {
		name = *n
	}
	return fromStatus(ctx, name, op, err)
}

func (c *grpcClient) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	if _, err := c.client.Configure(ctx, &pb.ConfigureRequest{Config: req.Config}, replyLimit("configure")); err != nil {
		return nil, c.fromStatus(ctx, "configure", err)
	}
	return &sdk.ConfigureResponse{}, nil
}

func (c *grpcClient) Start(ctx context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	resp, err := c.client.Start(ctx, toStartRequest(req), replyLimit("start"))
	if err != nil {
		return nil, c.fromStatus(ctx, "start", err)
	}
	return &sdk.StartResponse{State: fromState(resp.GetState()), Address: resp.GetAddress(), Endpoint: resp.GetEndpoint()}, nil
}

func (c *grpcClient) Stop(ctx context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	resp, err := c.client.Stop(ctx, &pb.StopRequest{WorkspaceId: req.WorkspaceID, State: toState(req.State)}, replyLimit("stop"))
	if err != nil {
		return nil, c.fromStatus(ctx, "stop", err)
	}
	return &sdk.StopResponse{State: fromState(resp.GetState())}, nil
}

func (c *grpcClient) Destroy(ctx context.Context, req *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	_, err := c.client.Destroy(ctx, &pb.DestroyRequest{
		WorkspaceId: req.WorkspaceID, State: toState(req.State), RemoveVolumes: req.RemoveVolumes,
	}, replyLimit("destroy"))
	if err != nil {
		return nil, c.fromStatus(ctx, "destroy", err)
	}
	return &sdk.DestroyResponse{}, nil
}

func (c *grpcClient) Status(ctx context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	resp, err := c.client.Status(ctx, &pb.StatusRequest{Workspaces: toWorkspaceRefs(req.Workspaces)}, replyLimit("status"))
	if err != nil {
		return nil, c.fromStatus(ctx, "status", err)
	}
	return &sdk.StatusResponse{Statuses: fromStatuses(resp.GetStatuses())}, nil
}

func (c *grpcClient) ListManaged(ctx context.Context, req *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	resp, err := c.client.ListManaged(ctx, &pb.ListManagedRequest{OrgId: req.OrgID}, replyLimit("list_managed"))
	if err != nil {
		return nil, c.fromStatus(ctx, "list_managed", err)
	}
	return &sdk.ListManagedResponse{Workspaces: fromManaged(resp.GetWorkspaces())}, nil
}
