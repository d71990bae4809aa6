package pluginrpc

import (
	"context"
	"sync"

	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

// maxChunk bounds the data in one streamed message (files, logs).
const maxChunk = 1 << 20

// NewGRPCServer returns a gRPC server serving b with the same adapter a
// plugin process uses, panics in a verb turned into errors as Serve does
// (logged through Logger). It exists for in-process harnesses such as
// sdk/backendtest; a plugin's main calls Serve instead.
func NewGRPCServer(b sdk.Backend, opts ...grpc.ServerOption) *grpc.Server {
	s := grpc.NewServer(append(guardOptions(Logger()), opts...)...)
	pb.RegisterBackendServiceServer(s, newServer(b))
	return s
}

// grpcServer adapts an sdk.Backend to the generated service. Every method
// has one shape: from-proto, call, to-proto. A verb returning a nil reply
// without an error gets a KindInternal error (noReply), never a nil
// dereference.
type grpcServer struct {
	pb.UnimplementedBackendServiceServer
	impl sdk.Backend

	nameOnce sync.Once
	name     string
}

func newServer(b sdk.Backend) *grpcServer { return &grpcServer{impl: b} }

// backendName is the backend's manifest name, for errors naming it.
func (s *grpcServer) backendName(ctx context.Context) string {
	s.nameOnce.Do(func() {
		s.name = "unknown"
		if m, err := s.impl.Manifest(ctx); err == nil && m.Name != "" {
			s.name = m.Name
		}
	})
	return s.name
}

func (s *grpcServer) Manifest(ctx context.Context, _ *pb.ManifestRequest) (*pb.ManifestResponse, error) {
	m, err := s.impl.Manifest(ctx)
	if err != nil {
		return nil, toStatus("manifest", err)
	}
	if m == nil {
		return nil, noReply("manifest", "Manifest")
	}
	withCaps := *m
	withCaps.Capabilities = sdk.CapabilitiesOf(s.impl)
	return toManifest(&withCaps), nil
}

func (s *grpcServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	if _, err := s.impl.Configure(ctx, &sdk.ConfigureRequest{Config: req.GetConfig()}); err != nil {
		return nil, toStatus("configure", err)
	}
	return &pb.ConfigureResponse{}, nil
}

func (s *grpcServer) Start(ctx context.Context, req *pb.StartRequest) (*pb.StartResponse, error) {
	resp, err := s.impl.Start(ctx, fromStartRequest(req))
	if err != nil {
		return nil, toStatus("start", err)
	}
	if resp == nil {
		return nil, noReply("start", "Start")
	}
	return &pb.StartResponse{State: toState(resp.State), Address: resp.Address, Endpoint: resp.Endpoint}, nil
}

func (s *grpcServer) Stop(ctx context.Context, req *pb.StopRequest) (*pb.StopResponse, error) {
	resp, err := s.impl.Stop(ctx, &sdk.StopRequest{WorkspaceID: req.GetWorkspaceId(), State: fromState(req.GetState())})
	if err != nil {
		return nil, toStatus("stop", err)
	}
	if resp == nil {
		return nil, noReply("stop", "Stop")
	}
	return &pb.StopResponse{State: toState(resp.State)}, nil
}

func (s *grpcServer) Destroy(ctx context.Context, req *pb.DestroyRequest) (*pb.DestroyResponse, error) {
	_, err := s.impl.Destroy(ctx, &sdk.DestroyRequest{
		WorkspaceID: req.GetWorkspaceId(), State: fromState(req.GetState()), RemoveVolumes: req.GetRemoveVolumes(),
	})
	if err != nil {
		return nil, toStatus("destroy", err)
	}
	return &pb.DestroyResponse{}, nil
}

func (s *grpcServer) Status(ctx context.Context, req *pb.StatusRequest) (*pb.StatusResponse, error) {
	resp, err := s.impl.Status(ctx, &sdk.StatusRequest{Workspaces: fromWorkspaceRefs(req.GetWorkspaces())})
	if err != nil {
		return nil, toStatus("status", err)
	}
	if resp == nil {
		return nil, noReply("status", "Status")
	}
	return &pb.StatusResponse{Statuses: toStatuses(resp.Statuses)}, nil
}

func (s *grpcServer) ListManaged(ctx context.Context, req *pb.ListManagedRequest) (*pb.ListManagedResponse, error) {
	resp, err := s.impl.ListManaged(ctx, &sdk.ListManagedRequest{OrgID: req.GetOrgId()})
	if err != nil {
		return nil, toStatus("list_managed", err)
	}
	if resp == nil {
		return nil, noReply("list_managed", "ListManaged")
	}
	return &pb.ListManagedResponse{Workspaces: toManaged(resp.Workspaces)}, nil
}
