package conformance

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// deaf is a plugin whose Start and Destroy never return, whatever their
// context says.
type deaf struct {
	sdk.Backend
	block chan struct{}
}

func (d deaf) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	<-d.block
	return nil, nil
}

func (d deaf) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	<-d.block
	return nil, nil
}

// TestRunOneBoundsAHungScenario: a scenario stuck in a plugin call that
// ignores cancellation, and a cleanup stuck the same way, end at their
// bounds: the scenario fails "hung in start", the cleanup's failure names
// destroy, and runOne returns so the run moves on.
func TestRunOneBoundsAHungScenario(t *testing.T) {
	grace := hangGrace
	hangGrace = 100 * time.Millisecond
	t.Cleanup(func() { hangGrace = grace })
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	const timeout = 300 * time.Millisecond
	br := &backendRun{cfg: Config{Timeout: timeout, Progress: io.Discard}, created: newIDSet(),
		manifest: &sdk.Manifest{Name: "deaf"}, plugin: deaf{block: block}}
	s := Scenario{ID: "test.hang", Direct: true, Run: func(ctx context.Context, t *T) error {
		t.Cleanup(func(ctx context.Context) error {
			_, err := t.Plugin.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "w"})
			return err
		})
		_, err := t.Plugin.Start(ctx, &sdk.StartRequest{WorkspaceID: "w"})
		return err
	}}
	done := make(chan ScenarioResult, 1)
	go func() { done <- br.runOne(context.Background(), s) }()
	var r ScenarioResult
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("runOne did not return 10s after a scenario timeout of 300ms: a hung plugin call stalls the run")
	}
	if r.Outcome != OutcomeFail || !strings.Contains(r.Error, "hung in start") || !strings.Contains(r.Error, "hung in destroy") {
		t.Fatalf("result %s %q, want a failure naming start (scenario) and destroy (cleanup)", r.Outcome, r.Error)
	}
}
