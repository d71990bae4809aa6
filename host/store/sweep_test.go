package store_test

import (
	"slices"
	"testing"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
)

// TestListBackendChecked: the status sweep asks backends about live and
// stopped workspaces, and about provisioning ones only once their start
// has returned.
func TestListBackendChecked(t *testing.T) {
	s, _ := mustOpen(t, store.Options{})
	starting, _ := mustCreate(t, s, "starting") // its create is still queued
	_, op := mustCreate(t, s, "started")
	mustFinish(t, s, op)
	online, _ := mustCreate(t, s, "online")
	mustTransition(t, s, online.ID, host.StatusOnline) // an op still queued does not hide it
	stopped, op := mustCreate(t, s, "stopped")
	mustFinish(t, s, op)
	mustTransition(t, s, stopped.ID, host.StatusStopped)
	failed, op := mustCreate(t, s, "failed")
	mustFinish(t, s, op)
	mustTransition(t, s, failed.ID, host.StatusFailed)

	wss, err := s.ListBackendChecked(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ws := range wss {
		got = append(got, ws.Name)
	}
	want := []string{"started", "online", "stopped"}
	if !slices.Equal(got, want) {
		t.Fatalf("ListBackendChecked = %v, want %v (not %s, %s)", got, want, starting.Name, failed.Name)
	}
}
