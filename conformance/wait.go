package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// pollEvery is how often waits re-check their condition.
const pollEvery = 100 * time.Millisecond

// poll calls cond until it reports done, returns an error, or ctx ends; the
// error on timeout carries what cond last saw.
func poll(ctx context.Context, what string, cond func() (done bool, seen string, err error)) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		done, seen, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s (last seen: %s)", what, seen)
		case <-tick.C:
		}
	}
}

// uniqueName returns a valid workspace name with a random suffix.
func uniqueName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "conf-" + prefix + "-" + hex.EncodeToString(b[:])
}

// randomID returns a UUID-shaped random id for workspaces created behind the
// host's back.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// createWorkspace creates a workspace on the backend under test and
// registers its deletion (and the wait for `removed`) as cleanup.
func (t *T) createWorkspace(ctx context.Context, prefix string, config map[string]string) (*Accepted, error) {
	a, err := t.Host.Create(ctx, CreateRequest{Name: uniqueName(prefix), Backend: t.Backend, Config: config})
	if err != nil {
		return nil, fmt.Errorf("create workspace: %w", err)
	}
	if a.Workspace.ID == "" || a.Operation.ID == "" {
		return nil, fmt.Errorf("create workspace: answer lacks workspace or operation id: %+v", a)
	}
	if a.Operation.Verb != "create" {
		return nil, fmt.Errorf("create workspace: operation verb %q, want create", a.Operation.Verb)
	}
	id := a.Workspace.ID
	t.Track(id)
	t.Cleanup(func(ctx context.Context) error { return t.removeWorkspace(ctx, id) })
	return a, nil
}

// removeWorkspace deletes a workspace through the API unless it is already
// removed, and waits for `removed`.
func (t *T) removeWorkspace(ctx context.Context, id string) error {
	w, err := t.Host.Get(ctx, id)
	if isHTTP(err, http.StatusNotFound) || (err == nil && w.Status == "removed") {
		return nil
	}
	var a *Accepted
	err = retryConflict(ctx, func() error { a, err = t.Host.Delete(ctx, id); return err })
	if isHTTP(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete workspace %s: %w", id, err)
	}
	if _, err := t.waitOperation(ctx, a.Operation.ID); err != nil {
		return err
	}
	_, err = t.waitStatus(ctx, id, "removed")
	return err
}

// retryConflict retries fn while it answers 409 (another operation in
// flight), until ctx ends.
func retryConflict(ctx context.Context, fn func() error) error {
	var last error
	err := poll(ctx, "the workspace's current operation to finish", func() (bool, string, error) {
		last = fn()
		if isHTTP(last, http.StatusConflict) {
			return false, last.Error(), nil
		}
		return true, "", nil
	})
	if err != nil {
		return err
	}
	return last
}

// waitStatus waits until the workspace has one of the wanted statuses. It
// fails at once on `failed` when failed is not wanted, with the reason.
func (t *T) waitStatus(ctx context.Context, id string, want ...string) (*Workspace, error) {
	var w *Workspace
	what := fmt.Sprintf("workspace %s to be %s", id, strings.Join(want, " or "))
	err := poll(ctx, what, func() (bool, string, error) {
		var err error
		w, err = t.Host.Get(ctx, id)
		if err != nil {
			return false, "", err
		}
		seen := fmt.Sprintf("status %s %q", w.Status, w.StatusReason)
		if slices.Contains(want, w.Status) {
			return true, seen, nil
		}
		if w.Status == "failed" {
			return false, seen, fmt.Errorf("workspace %s failed: %s", id, w.StatusReason)
		}
		return false, seen, nil
	})
	return w, err
}

// waitOperation waits until the operation finishes and returns an error
// unless it succeeded.
func (t *T) waitOperation(ctx context.Context, id string) (*Operation, error) {
	var op *Operation
	err := poll(ctx, "operation "+id+" to finish", func() (bool, string, error) {
		var err error
		op, err = t.Host.Operation(ctx, id)
		if err != nil {
			return false, "", err
		}
		return op.State == "succeeded" || op.State == "failed", fmt.Sprintf("%s step %q", op.State, op.Step), nil
	})
	if err != nil {
		return op, err
	}
	if op.State != "succeeded" {
		return op, fmt.Errorf("operation %s (%s) failed: %v", id, op.Verb, op.Error)
	}
	return op, nil
}

// online creates a workspace and waits until its create operation succeeded
// and it is online.
func (t *T) online(ctx context.Context, prefix string, config map[string]string) (*Workspace, error) {
	a, err := t.createWorkspace(ctx, prefix, config)
	if err != nil {
		return nil, err
	}
	w, err := t.waitStatus(ctx, a.Workspace.ID, "online")
	if err != nil {
		return nil, err
	}
	if _, err := t.waitOperation(ctx, a.Operation.ID); err != nil {
		return nil, err
	}
	return w, nil
}

// verb posts start, stop or restart, retrying while another operation is in
// flight, and waits for the operation to succeed.
// verbTo runs verb on the workspace and waits until it reaches status.
func (t *T) verbTo(ctx context.Context, id, verb, status string) error {
	if err := t.verb(ctx, id, verb); err != nil {
		return err
	}
	_, err := t.waitStatus(ctx, id, status)
	return err
}

func (t *T) verb(ctx context.Context, id, verb string) error {
	var a *Accepted
	err := retryConflict(ctx, func() error {
		var err error
		a, err = t.Host.Verb(ctx, id, verb)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s workspace %s: %w", verb, id, err)
	}
	if a.Operation.Verb != verb {
		return fmt.Errorf("%s workspace %s: operation verb %q", verb, id, a.Operation.Verb)
	}
	_, err = t.waitOperation(ctx, a.Operation.ID)
	return err
}

// managed returns the plugin's ListManaged entry for id, if any.
func (t *T) managed(ctx context.Context, id string) (*sdk.ManagedWorkspace, error) {
	lm, err := t.Plugin.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil {
		return nil, fmt.Errorf("list managed through the plugin: %w", err)
	}
	for i := range lm.Workspaces {
		if lm.Workspaces[i].WorkspaceID == id {
			return &lm.Workspaces[i], nil
		}
	}
	return nil, nil
}

// substrate reports the run state of id as the plugin sees it, bypassing
// the host: Status first and, when Status cannot tell without the backend
// state only the host holds, the ListManaged entry.
func (t *T) substrate(ctx context.Context, id string) (sdk.RunState, error) {
	st, err := t.Plugin.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: id}}})
	if err != nil {
		return "", fmt.Errorf("status through the plugin: %w", err)
	}
	if len(st.Statuses) != 1 || st.Statuses[0].WorkspaceID != id {
		return "", fmt.Errorf("status through the plugin: asked for 1 workspace %s, got %+v", id, st.Statuses)
	}
	if s := st.Statuses[0].State; s == sdk.RunStateRunning || s == sdk.RunStateStopped {
		return s, nil
	}
	m, err := t.managed(ctx, id)
	if err != nil || m == nil {
		return st.Statuses[0].State, err
	}
	return m.State, nil
}

// waitSubstrate waits until the plugin reports id in one of the states.
func (t *T) waitSubstrate(ctx context.Context, id string, want ...sdk.RunState) error {
	return poll(ctx, fmt.Sprintf("the substrate to report %s as %v", id, want), func() (bool, string, error) {
		s, err := t.substrate(ctx, id)
		return slices.Contains(want, s), string(s), err
	})
}

// isHTTP reports whether err is an API error with the given HTTP status.
func isHTTP(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.HTTPStatus == status
}
