package pluginrpc_test

import (
	"context"
	"io"

	"github.com/molecule-ai/molecule-host/sdk"
)

// stub is a minimal Backend whose Start returns err; it implements no
// optional verb.
type stub struct{ err error }

func (s *stub) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{Name: "stub", Version: "1", ProtocolVersion: sdk.ProtocolVersion,
		Capabilities: []sdk.Capability{sdk.CapExec}}, nil // Capabilities ignored: derived by the glue
}

func (s *stub) Configure(context.Context, *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	return &sdk.ConfigureResponse{}, nil
}

func (s *stub) Start(_ context.Context, req *sdk.StartRequest) (*sdk.StartResponse, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &sdk.StartResponse{State: req.State, Address: req.Name}, nil
}

func (s *stub) Stop(_ context.Context, req *sdk.StopRequest) (*sdk.StopResponse, error) {
	return &sdk.StopResponse{State: req.State}, nil
}

func (s *stub) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return &sdk.DestroyResponse{}, nil
}

func (s *stub) Status(_ context.Context, req *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	out := &sdk.StatusResponse{}
	for _, w := range req.Workspaces {
		out.Statuses = append(out.Statuses, sdk.WorkspaceStatus{WorkspaceID: w.WorkspaceID, State: sdk.RunStateRunning, Detail: string(w.State.Data)})
	}
	return out, nil
}

func (s *stub) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return &sdk.ListManagedResponse{}, nil
}

// streamer adds logs and files to stub: Logs sends lines, ReadFile sends
// content in one call, WriteFile collects what it receives.
type streamer struct {
	stub
	lines   []string
	content []byte
	written chan []byte
}

func (s *streamer) Logs(_ context.Context, _ *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	for _, l := range s.lines {
		if err := send(&sdk.LogChunk{Data: []byte(l), Stream: "console"}); err != nil {
			return err
		}
	}
	return nil
}

func (s *streamer) ListFiles(context.Context, *sdk.ListFilesRequest) (*sdk.ListFilesResponse, error) {
	return &sdk.ListFilesResponse{}, nil
}

func (s *streamer) ReadFile(_ context.Context, _ *sdk.ReadFileRequest, send func([]byte) error) error {
	return send(s.content)
}

func (s *streamer) WriteFile(_ context.Context, _ *sdk.WriteFileRequest, recv func() ([]byte, error)) (*sdk.WriteFileResponse, error) {
	var all []byte
	for {
		b, err := recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		all = append(all, b...)
	}
	s.written <- all
	return &sdk.WriteFileResponse{Size: int64(len(all))}, nil
}

func (s *streamer) DeleteFile(context.Context, *sdk.DeleteFileRequest) (*sdk.DeleteFileResponse, error) {
	return &sdk.DeleteFileResponse{}, nil
}
