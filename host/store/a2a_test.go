package store_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/google/uuid"

	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

// TestWorkspaceForA2A: the workspace and its live token's digest in one
// query; no digest before a token is set or after it is revoked.
func TestWorkspaceForA2A(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t, store.Options{})
	ws, _ := mustCreate(t, s, "a2a")
	ctx := ctxT(t)
	got, digest, err := s.WorkspaceForA2A(ctx, ws.ID)
	if err != nil || got.ID != ws.ID || got.Name != "a2a" || digest != nil {
		t.Fatalf("before a token: %+v, %x, %v; want the workspace and no digest", got, digest, err)
	}
	want := sha256.Sum256([]byte("tok"))
	if err := s.SetAgentToken(ctx, ws.ID, want[:]); err != nil {
		t.Fatal(err)
	}
	if _, digest, err = s.WorkspaceForA2A(ctx, ws.ID); err != nil || !bytes.Equal(digest, want[:]) {
		t.Fatalf("with a token: %x, %v; want %x", digest, err, want)
	}
	if err := s.RevokeAgentToken(ctx, ws.ID); err != nil {
		t.Fatal(err)
	}
	if _, digest, err = s.WorkspaceForA2A(ctx, ws.ID); err != nil || digest != nil {
		t.Fatalf("after revoke: %x, %v; want no digest", digest, err)
	}
	for _, id := range []string{"nope", uuid.NewString()} {
		if _, _, err := s.WorkspaceForA2A(ctx, id); !sdk.IsKind(err, sdk.KindNotFound) {
			t.Errorf("WorkspaceForA2A(%q) = %v, want not found", id, err)
		}
	}
}
