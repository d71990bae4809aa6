package host

import "time"

// Verb is a lifecycle verb the host runs as a durable operation.
type Verb string

// Verbs.
const (
	VerbCreate  Verb = "create"
	VerbStart   Verb = "start"
	VerbStop    Verb = "stop"
	VerbRestart Verb = "restart"
	VerbDelete  Verb = "delete"
)

// OperationState is where an operation is in its life.
type OperationState string

// Operation states. Succeeded and failed are final.
const (
	OpQueued    OperationState = "queued"
	OpRunning   OperationState = "running"
	OpSucceeded OperationState = "succeeded"
	OpFailed    OperationState = "failed"
)

// Final reports whether the state is terminal.
func (s OperationState) Final() bool { return s == OpSucceeded || s == OpFailed }

// Operation is one call of a lifecycle verb on a workspace, persisted so a
// host crash resumes it instead of leaking.
type Operation struct {
	ID          string
	WorkspaceID string
	Verb        Verb
	State       OperationState
	// Step is a short progress note ("starting on backend", "waiting for
	// agent").
	Step string
	// Error is set when State is OpFailed: ErrorKind is an sdk kind name.
	ErrorKind    string
	ErrorMessage string
	Attempts     int
	CreatedAt    time.Time
	UpdatedAt    time.Time
	FinishedAt   *time.Time
}
