package host

import "fmt"

// Status is a workspace's user-visible status. One state machine serves
// every backend.
type Status string

// Statuses.
const (
	StatusProvisioning Status = "provisioning"
	StatusOnline       Status = "online"
	StatusOffline      Status = "offline"
	StatusDegraded     Status = "degraded"
	StatusFailed       Status = "failed"
	StatusStopped      Status = "stopped"
	StatusPaused       Status = "paused"
	StatusHibernated   Status = "hibernated"
	StatusRemoved      Status = "removed"
)

// Statuses lists every status, in the order of the state machine.
var Statuses = []Status{StatusProvisioning, StatusOnline, StatusOffline, StatusDegraded,
	StatusFailed, StatusStopped, StatusPaused, StatusHibernated, StatusRemoved}

// transitions is the allowed-transitions table: from -> set of to. Writing
// the same status again is always allowed (it refreshes the reason).
var transitions = map[Status][]Status{
	// A provision ends online, failed, or is interrupted by a stop/delete.
	StatusProvisioning: {StatusOnline, StatusFailed, StatusStopped, StatusRemoved},
	StatusOnline:       {StatusOffline, StatusDegraded, StatusProvisioning, StatusStopped, StatusFailed, StatusPaused, StatusHibernated, StatusRemoved},
	StatusDegraded:     {StatusOnline, StatusOffline, StatusProvisioning, StatusStopped, StatusFailed, StatusRemoved},
	StatusOffline:      {StatusOnline, StatusProvisioning, StatusStopped, StatusFailed, StatusRemoved},
	StatusFailed:       {StatusProvisioning, StatusStopped, StatusRemoved},
	StatusStopped:      {StatusProvisioning, StatusRemoved},
	StatusPaused:       {StatusProvisioning, StatusRemoved},
	StatusHibernated:   {StatusProvisioning, StatusRemoved},
	StatusRemoved:      nil, // terminal
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// CanTransition reports whether a workspace may move from one status to
// another.
func CanTransition(from, to Status) bool {
	if !from.Valid() || !to.Valid() {
		return false
	}
	if from == to {
		return from != StatusRemoved
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// TransitionError reports a status change the table does not allow.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("workspace status cannot change from %s to %s", e.From, e.To)
}

// CheckTransition returns a *TransitionError when from -> to is not allowed.
func CheckTransition(from, to Status) error {
	if !CanTransition(from, to) {
		return &TransitionError{From: from, To: to}
	}
	return nil
}
