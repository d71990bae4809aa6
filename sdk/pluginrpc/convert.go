package pluginrpc

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

// This file is the one place proto and sdk types meet. Each pair of
// functions is named after the sdk type; "to" builds the proto message and
// "from" the sdk value. Client and server share them.

func toState(s sdk.BackendState) *pb.BackendState {
	if s.IsZero() {
		return nil
	}
	return &pb.BackendState{Data: s.Data, Version: s.Version}
}

func fromState(s *pb.BackendState) sdk.BackendState {
	return sdk.BackendState{Data: s.GetData(), Version: s.GetVersion()}
}

func toTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTime(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func toManifest(m *sdk.Manifest) *pb.ManifestResponse {
	r := &pb.ManifestResponse{
		Name: m.Name, Version: m.Version, ProtocolVersion: int64(m.ProtocolVersion),
		Description: m.Description,
	}
	for _, c := range m.Capabilities {
		r.Capabilities = append(r.Capabilities, string(c))
	}
	if len(m.Features) > 0 {
		r.Features = make(map[string]*pb.Feature, len(m.Features))
		for id, f := range m.Features {
			r.Features[id] = &pb.Feature{Note: f.Note, Attributes: f.Attributes}
		}
	}
	for _, c := range m.Config {
		r.Config = append(r.Config, &pb.ConfigField{
			Name: c.Name, Type: string(c.Type), Required: c.Required, Default: c.Default,
			Description: c.Description, Secret: c.Secret,
		})
	}
	return r
}

func fromManifest(r *pb.ManifestResponse) *sdk.Manifest {
	m := &sdk.Manifest{
		Name: r.GetName(), Version: r.GetVersion(), ProtocolVersion: int(r.GetProtocolVersion()),
		Description: r.GetDescription(),
	}
	for _, c := range r.GetCapabilities() {
		m.Capabilities = append(m.Capabilities, sdk.Capability(c))
	}
	if len(r.GetFeatures()) > 0 {
		m.Features = make(map[string]sdk.Feature, len(r.GetFeatures()))
		for id, f := range r.GetFeatures() {
			m.Features[id] = sdk.Feature{Note: f.GetNote(), Attributes: f.GetAttributes()}
		}
	}
	for _, c := range r.GetConfig() {
		m.Config = append(m.Config, sdk.ConfigField{
			Name: c.GetName(), Type: sdk.ConfigType(c.GetType()), Required: c.GetRequired(),
			Default: c.GetDefault(), Description: c.GetDescription(), Secret: c.GetSecret(),
		})
	}
	return m
}

func toStartRequest(r *sdk.StartRequest) *pb.StartRequest {
	return &pb.StartRequest{
		WorkspaceId: r.WorkspaceID, OrgId: r.OrgID, Name: r.Name, Runtime: r.Runtime,
		Tier: int64(r.Tier), Image: r.Image, Env: r.Env, ConfigFiles: r.ConfigFiles,
		ConfigHash: r.ConfigHash, AgentToken: r.AgentToken, HostUrl: r.HostURL,
		State: toState(r.State), AgentDir: r.AgentDir,
	}
}

func fromStartRequest(r *pb.StartRequest) *sdk.StartRequest {
	return &sdk.StartRequest{
		WorkspaceID: r.GetWorkspaceId(), OrgID: r.GetOrgId(), Name: r.GetName(),
		Runtime: r.GetRuntime(), Tier: int(r.GetTier()), Image: r.GetImage(), Env: r.GetEnv(),
		ConfigFiles: r.GetConfigFiles(), ConfigHash: r.GetConfigHash(),
		AgentToken: r.GetAgentToken(), HostURL: r.GetHostUrl(), State: fromState(r.GetState()),
		AgentDir: r.GetAgentDir(),
	}
}

func toWorkspaceRefs(refs []sdk.WorkspaceRef) []*pb.WorkspaceRef {
	out := make([]*pb.WorkspaceRef, 0, len(refs))
	for _, w := range refs {
		out = append(out, &pb.WorkspaceRef{WorkspaceId: w.WorkspaceID, State: toState(w.State)})
	}
	return out
}

func fromWorkspaceRefs(refs []*pb.WorkspaceRef) []sdk.WorkspaceRef {
	out := make([]sdk.WorkspaceRef, 0, len(refs))
	for _, w := range refs {
		out = append(out, sdk.WorkspaceRef{WorkspaceID: w.GetWorkspaceId(), State: fromState(w.GetState())})
	}
	return out
}

func toStatuses(ss []sdk.WorkspaceStatus) []*pb.WorkspaceStatus {
	out := make([]*pb.WorkspaceStatus, 0, len(ss))
	for _, s := range ss {
		out = append(out, &pb.WorkspaceStatus{
			WorkspaceId: s.WorkspaceID, State: string(s.State), Detail: s.Detail, Address: s.Address,
		})
	}
	return out
}

// fromStatuses cuts each Detail, a reason users may see, like an error
// message (MaxErrorMessage).
func fromStatuses(ss []*pb.WorkspaceStatus) []sdk.WorkspaceStatus {
	out := make([]sdk.WorkspaceStatus, 0, len(ss))
	for _, s := range ss {
		out = append(out, sdk.WorkspaceStatus{
			WorkspaceID: s.GetWorkspaceId(), State: sdk.RunState(s.GetState()),
			Detail: truncate(s.GetDetail(), MaxErrorMessage), Address: s.GetAddress(),
		})
	}
	return out
}

func toManaged(ws []sdk.ManagedWorkspace) []*pb.ManagedWorkspace {
	out := make([]*pb.ManagedWorkspace, 0, len(ws))
	for _, w := range ws {
		out = append(out, &pb.ManagedWorkspace{WorkspaceId: w.WorkspaceID, State: string(w.State), Resources: w.Resources})
	}
	return out
}

func fromManaged(ws []*pb.ManagedWorkspace) []sdk.ManagedWorkspace {
	out := make([]sdk.ManagedWorkspace, 0, len(ws))
	for _, w := range ws {
		out = append(out, sdk.ManagedWorkspace{
			WorkspaceID: w.GetWorkspaceId(), State: sdk.RunState(w.GetState()), Resources: w.GetResources(),
		})
	}
	return out
}

func toFileInfos(fs []sdk.FileInfo) []*pb.FileInfo {
	out := make([]*pb.FileInfo, 0, len(fs))
	for _, f := range fs {
		out = append(out, &pb.FileInfo{Path: f.Path, Size: f.Size, Mode: f.Mode, ModTime: toTime(f.ModTime), IsDir: f.IsDir})
	}
	return out
}

func fromFileInfos(fs []*pb.FileInfo) []sdk.FileInfo {
	out := make([]sdk.FileInfo, 0, len(fs))
	for _, f := range fs {
		out = append(out, sdk.FileInfo{
			Path: f.GetPath(), Size: f.GetSize(), Mode: f.GetMode(), ModTime: fromTime(f.GetModTime()), IsDir: f.GetIsDir(),
		})
	}
	return out
}

func toLogChunk(c *sdk.LogChunk) *pb.LogsResponse {
	return &pb.LogsResponse{Data: c.Data, Stream: c.Stream, Time: toTime(c.Time)}
}

func fromLogChunk(c *pb.LogsResponse) *sdk.LogChunk {
	return &sdk.LogChunk{Data: c.GetData(), Stream: c.GetStream(), Time: fromTime(c.GetTime())}
}

func toExecStart(r *sdk.ExecRequest) *pb.ExecRequest {
	return &pb.ExecRequest{Msg: &pb.ExecRequest_Start{Start: &pb.ExecStart{
		WorkspaceId: r.WorkspaceID, State: toState(r.State), Command: r.Command, Tty: r.TTY,
		Rows: uint32(r.Rows), Cols: uint32(r.Cols),
	}}}
}

func fromExecStart(s *pb.ExecStart) *sdk.ExecRequest {
	return &sdk.ExecRequest{
		WorkspaceID: s.GetWorkspaceId(), State: fromState(s.GetState()), Command: s.GetCommand(),
		TTY: s.GetTty(), Rows: uint16(s.GetRows()), Cols: uint16(s.GetCols()),
	}
}

func toExecInput(in *sdk.ExecInput) *pb.ExecRequest {
	return &pb.ExecRequest{Msg: &pb.ExecRequest_Input{Input: &pb.ExecInput{
		Stdin: in.Stdin, Rows: uint32(in.Rows), Cols: uint32(in.Cols),
	}}}
}

func fromExecInput(in *pb.ExecInput) *sdk.ExecInput {
	return &sdk.ExecInput{Stdin: in.GetStdin(), Rows: uint16(in.GetRows()), Cols: uint16(in.GetCols())}
}

func toExecOutput(o *sdk.ExecOutput) *pb.ExecResponse {
	return &pb.ExecResponse{Stdout: o.Stdout, Stderr: o.Stderr, Exited: o.Exited, ExitCode: int64(o.ExitCode)}
}

func fromExecOutput(o *pb.ExecResponse) *sdk.ExecOutput {
	return &sdk.ExecOutput{Stdout: o.GetStdout(), Stderr: o.GetStderr(), Exited: o.GetExited(), ExitCode: int(o.GetExitCode())}
}
