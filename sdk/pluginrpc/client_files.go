package pluginrpc

import (
	"context"
	"errors"
	"io"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

func (c *grpcClient) ListFiles(ctx context.Context, req *sdk.ListFilesRequest) (*sdk.ListFilesResponse, error) {
	resp, err := c.client.ListFiles(ctx, &pb.ListFilesRequest{
		WorkspaceId: req.WorkspaceID, State: toState(req.State), Root: req.Root, Path: req.Path,
	}, replyLimit("list_files"))
	if err != nil {
		return nil, c.fromStatus(ctx, "list_files", err)
	}
	return &sdk.ListFilesResponse{Files: fromFileInfos(resp.GetFiles())}, nil
}

// ReadFile passes each received chunk to send; an error from send ends the
// stream and is returned as is.
func (c *grpcClient) ReadFile(ctx context.Context, req *sdk.ReadFileRequest, send func([]byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.ReadFile(ctx, &pb.ReadFileRequest{
		WorkspaceId: req.WorkspaceID, State: toState(req.State), Root: req.Root, Path: req.Path,
	}, replyLimit("read_file"))
	if err != nil {
		return c.fromStatus(ctx, "read_file", err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return c.fromStatus(ctx, "read_file", err)
		}
		if err := send(msg.GetData()); err != nil {
			return err
		}
	}
}

// WriteFile sends the header, then every chunk recv returns (split to at
// most 1 MiB) until io.EOF; another error from recv aborts the write and is
// returned as is.
func (c *grpcClient) WriteFile(ctx context.Context, req *sdk.WriteFileRequest, recv func() ([]byte, error)) (*sdk.WriteFileResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.client.WriteFile(ctx, replyLimit("write_file"))
	if err != nil {
		return nil, c.fromStatus(ctx, "write_file", err)
	}
	header := &pb.WriteFileRequest{Msg: &pb.WriteFileRequest_Header{Header: &pb.WriteFileHeader{
		WorkspaceId: req.WorkspaceID, State: toState(req.State), Root: req.Root, Path: req.Path, Mode: req.Mode,
	}}}
	sendErr := stream.Send(header)
	for sendErr == nil {
		data, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for len(data) > 0 && sendErr == nil {
			n := min(len(data), maxChunk)
			sendErr = stream.Send(&pb.WriteFileRequest{Msg: &pb.WriteFileRequest_Data{Data: data[:n]}})
			data = data[n:]
		}
	}
	// On a send error (io.EOF when the server ended the stream) the real
	// status comes from CloseAndRecv.
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, c.fromStatus(ctx, "write_file", err)
	}
	if sendErr != nil {
		return nil, c.fromStatus(ctx, "write_file", sendErr)
	}
	return &sdk.WriteFileResponse{Size: resp.GetSize()}, nil
}

func (c *grpcClient) DeleteFile(ctx context.Context, req *sdk.DeleteFileRequest) (*sdk.DeleteFileResponse, error) {
	_, err := c.client.DeleteFile(ctx, &pb.DeleteFileRequest{
		WorkspaceId: req.WorkspaceID, State: toState(req.State), Root: req.Root, Path: req.Path, Recursive: req.Recursive,
	}, replyLimit("delete_file"))
	if err != nil {
		return nil, c.fromStatus(ctx, "delete_file", err)
	}
	return &sdk.DeleteFileResponse{}, nil
}
