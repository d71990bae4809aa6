package pluginrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

// filer returns the backend's optional files verb or the unsupported error.
func (s *grpcServer) filer(ctx context.Context, op string) (sdk.Filer, error) {
	f, ok := s.impl.(sdk.Filer)
	if !ok {
		return nil, toStatus(op, unsupported(s.backendName(ctx), op, string(sdk.CapFiles)))
	}
	return f, nil
}

func (s *grpcServer) ListFiles(ctx context.Context, req *pb.ListFilesRequest) (*pb.ListFilesResponse, error) {
	f, err := s.filer(ctx, "list_files")
	if err != nil {
		return nil, err
	}
	resp, err := f.ListFiles(ctx, &sdk.ListFilesRequest{
		WorkspaceID: req.GetWorkspaceId(), State: fromState(req.GetState()), Root: req.GetRoot(), Path: req.GetPath(),
	})
	if err != nil {
		return nil, toStatus("list_files", err)
	}
	if resp == nil {
		return nil, noReply("list_files", "ListFiles")
	}
	return &pb.ListFilesResponse{Files: toFileInfos(resp.Files)}, nil
}

func (s *grpcServer) ReadFile(req *pb.ReadFileRequest, stream grpc.ServerStreamingServer[pb.ReadFileResponse]) error {
	ctx := stream.Context()
	f, err := s.filer(ctx, "read_file")
	if err != nil {
		return err
	}
	send := func(data []byte) error {
		for len(data) > 0 {
			n := min(len(data), maxChunk)
			if err := stream.Send(&pb.ReadFileResponse{Data: data[:n]}); err != nil {
				return err
			}
			data = data[n:]
		}
		return nil
	}
	err = f.ReadFile(ctx, &sdk.ReadFileRequest{
		WorkspaceID: req.GetWorkspaceId(), State: fromState(req.GetState()), Root: req.GetRoot(), Path: req.GetPath(),
	}, send)
	return toStatus("read_file", err)
}

func (s *grpcServer) WriteFile(stream grpc.ClientStreamingServer[pb.WriteFileRequest, pb.WriteFileResponse]) error {
	ctx := stream.Context()
	f, err := s.filer(ctx, "write_file")
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return toStatus("write_file", sdk.Invalid("write_file", "The write stream ended before its header."))
	}
	h := first.GetHeader()
	if h == nil {
		return toStatus("write_file", sdk.Invalid("write_file", "The first message of a write stream must be its header."))
	}
	recv := func() ([]byte, error) {
		msg, err := stream.Recv()
		if err != nil {
			return nil, err // io.EOF ends the file
		}
		if msg.GetHeader() != nil {
			return nil, sdk.Invalid("write_file", "A write stream carries one header, first.")
		}
		return msg.GetData(), nil
	}
	resp, err := f.WriteFile(ctx, &sdk.WriteFileRequest{
		WorkspaceID: h.GetWorkspaceId(), State: fromState(h.GetState()), Root: h.GetRoot(), Path: h.GetPath(), Mode: h.GetMode(),
	}, recv)
	if err != nil {
		return toStatus("write_file", err)
	}
	if resp == nil {
		return noReply("write_file", "WriteFile")
	}
	return stream.SendAndClose(&pb.WriteFileResponse{Size: resp.Size})
}

func (s *grpcServer) DeleteFile(ctx context.Context, req *pb.DeleteFileRequest) (*pb.DeleteFileResponse, error) {
	f, err := s.filer(ctx, "delete_file")
	if err != nil {
		return nil, err
	}
	_, err = f.DeleteFile(ctx, &sdk.DeleteFileRequest{
		WorkspaceID: req.GetWorkspaceId(), State: fromState(req.GetState()), Root: req.GetRoot(),
		Path: req.GetPath(), Recursive: req.GetRecursive(),
	})
	if err != nil {
		return nil, toStatus("delete_file", err)
	}
	return &pb.DeleteFileResponse{}, nil
}
