package lifecycle

import (
	"context"
	"errors"
	"strconv"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Run executes operation opID; the store's job queue calls it, attempt
// counting from 1. It returns an error only to ask for a retry (a transient
// failure before the last attempt); every other outcome is recorded on the
// operation and the workspace, and Run returns nil.
func (s *Service) Run(ctx context.Context, opID string, attempt int) error {
	op, err := s.store.GetOperation(ctx, opID)
	if sdk.IsKind(err, sdk.KindNotFound) {
		s.log.Error("operation vanished; dropping its job", "operation", opID)
		return nil
	}
	if err != nil {
		return err // the database is down: retry
	}
	if op.State.Final() {
		return nil
	}
	ws, err := s.store.GetWorkspace(ctx, op.WorkspaceID)
	if err != nil {
		return err
	}
	op.State, op.Attempts = host.OpRunning, attempt
	if err := s.step(ctx, op, "running"); errors.Is(err, store.ErrFinal) {
		return nil // preempted between the read and now
	}
	err = s.execute(ctx, op, ws)
	if s.preempted(ctx, op) {
		s.log.Info("operation preempted; its attempt ends", "operation", op.ID, "verb", op.Verb, "err", err)
		return nil
	}
	if err == nil {
		return s.finish(ctx, op, nil)
	}
	if retryable(err) && attempt < s.cfg.MaxAttempts {
		s.log.Warn("operation attempt failed, will retry", "operation", op.ID, "verb", op.Verb, "attempt", attempt, "err", err)
		_ = s.step(ctx, op, "retrying after: "+userMessage(err))
		return err
	}
	s.log.Error("operation failed", "operation", op.ID, "verb", op.Verb, "workspace", ws.ID, "err", err)
	if op.Verb == host.VerbCreate || op.Verb == host.VerbStart || op.Verb == host.VerbRestart {
		s.transition(ctx, ws.ID, host.StatusChange{To: host.StatusFailed, Reason: userMessage(err),
			From: []host.Status{host.StatusProvisioning}})
	}
	return s.finish(ctx, op, err)
}

// preempted reports whether op was made final by someone else while it ran
// (a stop or delete preempted it); its attempt then records nothing more.
func (s *Service) preempted(ctx context.Context, op *host.Operation) bool {
	cur, err := s.store.GetOperation(context.WithoutCancel(ctx), op.ID)
	return err == nil && cur.State.Final()
}

func (s *Service) execute(ctx context.Context, op *host.Operation, ws *host.Workspace) error {
	switch op.Verb {
	case host.VerbCreate, host.VerbStart:
		return s.boot(ctx, op, ws, false)
	case host.VerbRestart:
		return s.boot(ctx, op, ws, true)
	case host.VerbStop:
		return s.stop(ctx, op, ws)
	case host.VerbDelete:
		return s.delete(ctx, op, ws)
	}
	return sdk.Errorf(sdk.KindInternal, string(op.Verb), "unknown verb %q", op.Verb)
}

// boot (re)starts a workspace from what the database holds: runtime and
// config are read from the row, never from the substrate. The operation
// ends when the backend has started the workspace; the agent's register and
// config_applied signals then bring it online, or the provision deadline
// fails it.
func (s *Service) boot(ctx context.Context, op *host.Operation, ws *host.Workspace, restart bool) error {
	if restart {
		s.step(ctx, op, "stopping on backend")
		if err := s.stopOnBackend(ctx, ws); err != nil {
			return err
		}
	}
	// One provision deadline per operation: create and Act set it when
	// they enqueue, and a retry keeps it. The guard fails an attempt that
	// finds the workspace no longer provisioning (the deadline passed, or
	// the agent already brought it online) instead of booting it again.
	ch := host.StatusChange{To: host.StatusProvisioning, Reason: string(op.Verb) + " requested",
		ClearBoot: true, From: []host.Status{host.StatusProvisioning}}
	if ws.ProvisionDeadline == nil {
		deadline := s.now().Add(s.cfg.ProvisionTimeout)
		ch.ProvisionDeadline = &deadline
	}
	if _, err := s.store.Transition(ctx, ws.ID, ch); err != nil {
		return err
	}
	tok, digest, err := mintToken()
	if err != nil {
		return err
	}
	if err := s.store.SetAgentToken(ctx, ws.ID, digest); err != nil {
		return err
	}
	ws, err = s.store.GetWorkspace(ctx, ws.ID) // the row as it is now: config from the database only
	if err != nil {
		return err
	}
	var agentDir string
	if s.cfg.AgentDirs != nil {
		if agentDir, err = s.cfg.AgentDirs.Open(ws.ID); err != nil {
			return sdk.Errorf(sdk.KindInternal, "start", "The workspace's agent directory could not be made: %v", err)
		}
	}
	if err := s.step(ctx, op, "starting on backend "+ws.Backend); errors.Is(err, store.ErrFinal) {
		return err // preempted: do not start what a stop is about to stop
	}
	p, err := s.dispatch.Start(ctx, dispatch.StartSpec{
		Workspace: ws, Image: s.imageFor(ws.Runtime), AgentToken: tok, HostURL: s.cfg.HostURL, AgentDir: agentDir,
		Env: map[string]string{
			agentapi.EnvHeartbeatInterval: s.cfg.HeartbeatInterval.String(),
			agentapi.EnvRuntime:           ws.Runtime,
			"MOLECULE_TIER":               strconv.Itoa(ws.Tier),
		},
	})
	if err != nil {
		return err
	}
	if err := s.store.SaveBackendState(ctx, ws.ID, p.State, p.StateVersion, p.Address); err != nil {
		return err
	}
	s.step(ctx, op, "started; waiting for the agent to register and apply config "+short(ws.ConfigHash))
	return nil
}

// stopOnBackend stops the workspace's substrate (stop, and the stop half of
// restart). The agent token is revoked first, so from the stop on the old
// agent can neither heartbeat nor report boot events; boot mints a new one.
func (s *Service) stopOnBackend(ctx context.Context, ws *host.Workspace) error {
	if err := s.store.RevokeAgentToken(ctx, ws.ID); err != nil {
		return err
	}
	p, err := s.dispatch.Stop(ctx, ws)
	if err != nil {
		return err
	}
	if p != nil {
		return s.store.SaveBackendState(ctx, ws.ID, p.State, p.StateVersion, p.Address)
	}
	return nil
}

func (s *Service) stop(ctx context.Context, op *host.Operation, ws *host.Workspace) error {
	s.step(ctx, op, "stopping on backend "+ws.Backend)
	if err := s.stopOnBackend(ctx, ws); err != nil {
		return err
	}
	_, err := s.store.Transition(ctx, ws.ID, host.StatusChange{To: host.StatusStopped, Reason: "stop requested", ClearBoot: true})
	return err
}

func (s *Service) delete(ctx context.Context, op *host.Operation, ws *host.Workspace) error {
	if err := s.store.RevokeAgentToken(ctx, ws.ID); err != nil {
		return err // before the destroy, as in stopOnBackend
	}
	s.step(ctx, op, "destroying on backend "+ws.Backend)
	if err := s.dispatch.Destroy(ctx, ws); err != nil {
		return err
	}
	if s.cfg.AgentDirs != nil {
		if err := s.cfg.AgentDirs.Remove(ws.ID); err != nil {
			s.log.Warn("removing the agent directory", "workspace", ws.ID, "err", err)
		}
	}
	_, err := s.store.Transition(ctx, ws.ID, host.StatusChange{To: host.StatusRemoved, Reason: "delete requested", ClearBoot: true})
	return err
}

// finish records the operation's final state. An operation already made
// final by a preemption keeps that state.
func (s *Service) finish(ctx context.Context, op *host.Operation, err error) error {
	now := s.now()
	op.FinishedAt = &now
	if err == nil {
		op.State, op.Step = host.OpSucceeded, "done"
	} else {
		op.State = host.OpFailed
		op.ErrorKind, op.ErrorMessage = sdk.KindOf(err).String(), userMessage(err)
	}
	uerr := s.store.UpdateOperation(context.WithoutCancel(ctx), op)
	if uerr != nil && !errors.Is(uerr, store.ErrFinal) {
		return uerr // retry: the outcome must be recorded
	}
	return nil
}

// step records op's progress. It returns the store's error: one wrapping
// store.ErrFinal means op was preempted.
func (s *Service) step(ctx context.Context, op *host.Operation, step string) error {
	op.Step = step
	s.log.Debug("operation step", "operation", op.ID, "verb", op.Verb, "step", step, "since_created", s.now().Sub(op.CreatedAt))
	err := s.store.UpdateOperation(ctx, op)
	if err != nil && !errors.Is(err, store.ErrFinal) {
		s.log.Warn("recording operation progress", "operation", op.ID, "err", err)
	}
	return err
}

func (s *Service) transition(ctx context.Context, id string, ch host.StatusChange) {
	if _, err := s.store.Transition(context.WithoutCancel(ctx), id, ch); err != nil && !sdk.IsKind(err, sdk.KindConflict) {
		s.log.Error("status change", "workspace", id, "to", ch.To, "err", err)
	}
}

// userMessage is the sentence a user sees for err: an *sdk.Error's message,
// or a generic one for anything else (the log has the rest).
func userMessage(err error) string {
	var e *sdk.Error
	if pluginExited(err) && errors.As(err, &e) {
		return "The backend plugin exited while handling " + e.Op + ", so the request is not sent again: " + e.Message
	}
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	if retryable(err) {
		return "The operation was interrupted: " + err.Error()
	}
	return "Internal error; see the host log."
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
