package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

func TestTransition(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	tests := map[string]struct {
		path      []host.Status // statuses to pass through first
		ch        host.StatusChange
		wantErr   error // ErrStale or a *host.TransitionError target; nil = allowed
		wantFinal host.Status
	}{
		"provisioning to online": {nil, host.StatusChange{To: host.StatusOnline}, nil, host.StatusOnline},
		"online to offline":      {[]host.Status{host.StatusOnline}, host.StatusChange{To: host.StatusOffline}, nil, host.StatusOffline},
		"stopped to online":      {[]host.Status{host.StatusStopped}, host.StatusChange{To: host.StatusOnline}, &host.TransitionError{}, host.StatusStopped},
		"removed is terminal":    {[]host.Status{host.StatusRemoved}, host.StatusChange{To: host.StatusProvisioning}, &host.TransitionError{}, host.StatusRemoved},
		"guard holds":            {nil, host.StatusChange{To: host.StatusFailed, From: []host.Status{host.StatusProvisioning}}, nil, host.StatusFailed},
		"guard stale":            {[]host.Status{host.StatusOnline}, host.StatusChange{To: host.StatusFailed, From: []host.Status{host.StatusProvisioning}}, store.ErrStale, host.StatusOnline},
		"guard any of two":       {[]host.Status{host.StatusOnline}, host.StatusChange{To: host.StatusOffline, From: []host.Status{host.StatusDegraded, host.StatusOnline}}, nil, host.StatusOffline},
	}
	i := 0
	for name, tc := range tests {
		i++
		ws, _ := mustCreate(t, s, "tr"+string(rune('a'+i)))
		t.Run(name, func(t *testing.T) {
			for _, st := range tc.path {
				mustTransition(t, s, ws.ID, st)
			}
			before, _ := s.GetWorkspace(ctxT(t), ws.ID)
			from, err := s.Transition(ctxT(t), ws.ID, tc.ch)
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("Transition: %v", err)
				}
				if from != before.Status {
					t.Errorf("from = %s, want %s", from, before.Status)
				}
			case *host.TransitionError:
				wantKind(t, err, sdk.KindConflict)
				if !errors.As(err, &want) || want.To != tc.ch.To {
					t.Errorf("error %v does not wrap a TransitionError to %s", err, tc.ch.To)
				}
			default:
				wantKind(t, err, sdk.KindConflict)
				if !errors.Is(err, want) {
					t.Errorf("error %v is not %v", err, want)
				}
			}
			after, err := s.GetWorkspace(ctxT(t), ws.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Status != tc.wantFinal {
				t.Errorf("status = %s, want %s", after.Status, tc.wantFinal)
			}
		})
	}
}

func TestTransitionFields(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ctx := ctxT(t)
	ws, _ := mustCreate(t, s, "fields")
	if err := s.RecordRegister(ctx, ws.ID, "http://127.0.0.1:9/a2a", []byte(`{"name":"agent"}`)); err != nil {
		t.Fatalf("RecordRegister: %v", err)
	}
	if err := s.RecordConfigApplied(ctx, ws.ID, "h1"); err != nil {
		t.Fatalf("RecordConfigApplied: %v", err)
	}
	mustTransition(t, s, ws.ID, host.StatusOnline)
	got, _ := s.GetWorkspace(ctx, ws.ID)
	if got.URL == "" || got.RegisteredAt == nil || got.ConfigAppliedHash != "h1" || got.LastHeartbeatAt == nil {
		t.Fatalf("registry signals not recorded: %+v", got)
	}

	deadline := time.Now().Add(time.Minute).Truncate(time.Microsecond)
	_, err := s.Transition(ctx, ws.ID, host.StatusChange{To: host.StatusProvisioning, Reason: "restart",
		ProvisionDeadline: &deadline, ClearBoot: true})
	if err != nil {
		t.Fatalf("Transition to provisioning: %v", err)
	}
	got, _ = s.GetWorkspace(ctx, ws.ID)
	if got.URL != "" || got.RegisteredAt != nil || got.ConfigAppliedHash != "" {
		t.Errorf("ClearBoot left boot signals: url %q registered %v hash %q", got.URL, got.RegisteredAt, got.ConfigAppliedHash)
	}
	if got.ProvisionDeadline == nil || !got.ProvisionDeadline.Equal(deadline) || got.StatusReason != "restart" {
		t.Errorf("deadline = %v reason %q, want %v and restart", got.ProvisionDeadline, got.StatusReason, deadline)
	}
	mustTransition(t, s, ws.ID, host.StatusStopped)
	got, _ = s.GetWorkspace(ctx, ws.ID)
	if got.ProvisionDeadline != nil {
		t.Errorf("provision deadline kept after leaving provisioning: %v", got.ProvisionDeadline)
	}
	err = s.RecordRegister(ctx, ws.ID, "u", []byte("{not json"))
	wantKind(t, err, sdk.KindInvalid)
}
