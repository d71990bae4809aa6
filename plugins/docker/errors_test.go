package docker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/sdk"
)

// TestStartMissingImageIsReadable: a start whose image the engine lacks
// fails with a reason a user can act on, not the daemon's raw error.
func TestStartMissingImageIsReadable(t *testing.T) {
	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	req := startRequest(id, mustAgentDir(t), nil)
	req.Image = "molecule-test-missing:" + id
	_, err := b.Start(context.Background(), req)
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindNotFound {
		t.Fatalf("Start with a missing image = %v, want not_found", err)
	}
	want := "image " + req.Image + " is not on this Docker engine; build it (make image) or set --runtime-images"
	if !strings.Contains(se.Message, want) || strings.Contains(se.Message, "Error response from daemon") {
		t.Fatalf("message = %q, want %q", se.Message, want)
	}
	if c, _ := counts(t, id); c != 0 {
		t.Fatalf("%d containers after a failed start, want 0", c)
	}
}
