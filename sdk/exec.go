package sdk

// ExecRequest opens a process in the workspace.
type ExecRequest struct {
	WorkspaceID string
	State       BackendState
	Command     []string
	TTY         bool
	Rows, Cols  uint16
}

// ExecInput is one message from the user to the process: stdin bytes, a
// terminal resize, or both.
type ExecInput struct {
	Stdin      []byte
	Rows, Cols uint16 // non-zero means resize
}

// ExecOutput is one message from the process: output bytes or, last, its
// exit code.
type ExecOutput struct {
	Stdout   []byte
	Stderr   []byte
	Exited   bool
	ExitCode int
}

// ExecStream is the bidirectional stream of an Exec call. Recv returns
// io.EOF when the user closes stdin.
type ExecStream interface {
	Recv() (*ExecInput, error)
	Send(*ExecOutput) error
}
