package sdk

import "context"

// ProtocolVersion is the backend plugin protocol this package describes. A
// host refuses a plugin whose manifest names another version.
const ProtocolVersion = 1

// Backend is the set of verbs every backend implements. Every method is
// called with the workspace's opaque BackendState as last returned by the
// plugin, so an implementation keeps no state of its own between calls and a
// plugin restart loses nothing.
//
// Before Configure has succeeded every verb other than Manifest must return
// a KindConflict error with the message "backend not configured" (see
// NotConfigured); it must never panic.
type Backend interface {
	// Manifest describes the backend. It is called once after launch and
	// must not depend on Configure. Capabilities set by the implementation
	// are ignored: the plugin glue derives them.
	Manifest(ctx context.Context) (*Manifest, error)

	// Configure validates and applies the backend's configuration. It may be
	// called again to replace it. Returns KindInvalid with Fields naming
	// each offending key.
	Configure(ctx context.Context, req *ConfigureRequest) (*ConfigureResponse, error)

	// Start creates the workspace or starts it again. Idempotent per
	// workspace id: a repeated Start with the same request converges on one
	// running workspace and never creates a second one. May return
	// KindInvalid, KindConflict, KindQuota, KindTransient or KindInternal.
	Start(ctx context.Context, req *StartRequest) (*StartResponse, error)

	// Stop stops the workspace and keeps its resources. Idempotent: a
	// workspace that is already stopped or does not exist is a success.
	Stop(ctx context.Context, req *StopRequest) (*StopResponse, error)

	// Destroy removes every resource the backend holds for the workspace
	// (volumes too when asked). Idempotent: nothing left is a success.
	Destroy(ctx context.Context, req *DestroyRequest) (*DestroyResponse, error)

	// Status reports the state of many workspaces in one call. A workspace
	// the backend holds nothing for is RunStateMissing, not an error.
	Status(ctx context.Context, req *StatusRequest) (*StatusResponse, error)

	// ListManaged lists every workspace id this backend holds resources
	// for, so the host can find orphans.
	ListManaged(ctx context.Context, req *ListManagedRequest) (*ListManagedResponse, error)
}

// Filer is the optional files verb: list, read, write and delete files under
// the workspace's allowed roots. Paths are slash-separated and relative to
// the named root; implementations must refuse paths that leave it
// (KindInvalid).
type Filer interface {
	ListFiles(ctx context.Context, req *ListFilesRequest) (*ListFilesResponse, error)
	// ReadFile streams the file's content to send, in chunks.
	ReadFile(ctx context.Context, req *ReadFileRequest, send func([]byte) error) error
	// WriteFile writes the chunks recv returns until it returns io.EOF.
	WriteFile(ctx context.Context, req *WriteFileRequest, recv func() ([]byte, error)) (*WriteFileResponse, error)
	DeleteFile(ctx context.Context, req *DeleteFileRequest) (*DeleteFileResponse, error)
}

// Execer is the optional terminal verb: a bidirectional stream with a TTY
// and resize.
type Execer interface {
	Exec(ctx context.Context, req *ExecRequest, stream ExecStream) error
}

// LogStreamer is the optional logs verb: boot and console output of a
// workspace, optionally followed until ctx ends or the workspace stops.
type LogStreamer interface {
	Logs(ctx context.Context, req *LogsRequest, send func(*LogChunk) error) error
}

// EnvDataDir is set by the host in every plugin process's environment: a
// directory the plugin may keep files in (caches, a local substrate's
// records). It survives plugin restarts.
const EnvDataDir = "MOLECULE_BACKEND_DATA_DIR"
