package sdk

import "time"

// LogsRequest asks for a workspace's boot and console output.
type LogsRequest struct {
	WorkspaceID string
	State       BackendState
	// Follow keeps the stream open for new output until the context ends.
	Follow bool
	// TailLines limits the output to the last lines; 0 means all.
	TailLines int
}

// LogChunk is one piece of output.
type LogChunk struct {
	Data   []byte
	Stream string // "stdout", "stderr" or "console"
	Time   time.Time
}
