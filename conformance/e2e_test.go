package conformance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/conformance"
	"github.com/molecule-ai/molecule-host/internal/plugintest"
	"github.com/molecule-ai/molecule-host/sdk"
)

// bins holds the real binaries TestMain builds: molecule-host and the fake
// backend plugin. buildErr explains why they are missing.
var (
	bins     string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mconf-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bins = dir
	buildErr = buildBinaries(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildBinaries(dir string) error {
	return plugintest.Build(dir, "./cmd/molecule-host", "./cmd/molecule-backend-fake",
		"./internal/plugintest/testdata/molecule-backend-nologs")
}

func mustBinaries(tb testing.TB) {
	tb.Helper()
	if buildErr != nil {
		tb.Fatalf("the end-to-end conformance test needs the real molecule-host and fake plugin binaries, which did not build: %v", buildErr)
	}
}

// runFake runs the suite against the real fake plugin through a real host.
func runFake(tb testing.TB, filter string, extra map[string]string) (*conformance.Results, string) {
	tb.Helper()
	return runPlugin(tb, "fake", filter, extra)
}

// runPlugin runs the suite against the named test plugin (the fake, or the
// fake without its logs verb, "nologs") through a real host.
func runPlugin(tb testing.TB, name, filter string, extra map[string]string) (*conformance.Results, string) {
	tb.Helper()
	return runPluginTimeout(tb, name, filter, extra, 60*time.Second)
}

// runPluginTimeout is runPlugin with the given per-scenario timeout.
func runPluginTimeout(tb testing.TB, name, filter string, extra map[string]string, timeout time.Duration) (*conformance.Results, string) {
	tb.Helper()
	mustBinaries(tb)
	out := tb.TempDir()
	cfg := map[string]string{"state_dir": conformance.TmpPlaceholder + "/" + name + "-state"}
	for k, v := range extra {
		cfg[k] = v
	}
	c := conformance.Config{
		Plugins:       []string{filepath.Join(bins, "molecule-backend-"+name)},
		HostBinary:    filepath.Join(bins, "molecule-host"),
		BackendConfig: map[string]map[string]string{name: cfg},
		OutDir:        out,
		Timeout:       timeout,
		Progress:      testWriter{tb},
	}
	if filter != "" {
		c.Filter = regexp.MustCompile(filter)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	results, err := conformance.Run(ctx, c)
	if err != nil {
		tb.Fatalf("run: %v", err)
	}
	if len(results) != 1 || results[0].Backend.Name != name {
		tb.Fatalf("got %d results, want one for %s", len(results), name)
	}
	return results[0], out
}

// TestSuiteAgainstFake runs every scenario against the real fake plugin and
// a real host: every scenario the fake declares passes, nothing leaks, and
// the outputs are written and render into a matrix.
func TestSuiteAgainstFake(t *testing.T) {
	r, out := runFake(t, "", nil)
	if len(r.Scenarios) != len(conformance.Scenarios()) {
		t.Errorf("results hold %d scenarios, the registry %d", len(r.Scenarios), len(conformance.Scenarios()))
	}
	for _, s := range r.Scenarios {
		_, declared := r.Backend.Features[s.Feature]
		if s.Feature == "" {
			declared = true
		}
		want := conformance.OutcomePass
		if !declared {
			want = conformance.OutcomeSkip
		}
		if s.Outcome != want {
			t.Errorf("%s: %s, want %s: %s", s.ID, s.Outcome, want, s.Error)
		}
	}
	if len(r.Leaks) > 0 {
		t.Errorf("leak check: %+v", r.Leaks)
	}
	read, err := conformance.ReadResultsDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if xml, err := os.ReadFile(filepath.Join(out, "fake.xml")); err != nil || !strings.Contains(string(xml), `name="lifecycle.create"`) {
		t.Errorf("junit output missing or incomplete: %v", err)
	}
	md, err := conformance.Matrix{Results: read}.Render()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| Create | `lifecycle.create` |") {
		t.Errorf("matrix lacks the create row:\n%s", md)
	}
}

// TestSuiteDetectsBrokenBackend injects a failing Stop into the real fake:
// the scenarios exercising Stop must fail with the injected error, and the
// run must count as failed.
func TestSuiteDetectsBrokenBackend(t *testing.T) {
	faults := filepath.Join(t.TempDir(), "faults.json")
	rules := []map[string]any{{"verb": "stop", "action": "fail", "kind": "invalid", "message": "injected by the conformance test", "count": -1}}
	b, _ := json.Marshal(rules)
	if err := os.WriteFile(faults, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := runFake(t, `^(lifecycle\.stop|plugin\.error_kinds)$`, map[string]string{"fault_file": faults})
	if !r.Failed() {
		t.Fatal("a backend whose Stop always fails passed the suite")
	}
	for _, id := range []string{"lifecycle.stop", "plugin.error_kinds"} {
		s, ok := r.Result(id)
		if !ok || s.Outcome != conformance.OutcomeFail || !strings.Contains(s.Error, "injected by the conformance test") {
			t.Errorf("%s: %+v, want a failure naming the injected error", id, s)
		}
	}
	if _, ok := r.Result("lifecycle.create"); ok {
		t.Error("--run filter ignored: lifecycle.create ran")
	}
}

// TestSuiteReportsHungVerb injects a Start that never answers into the real
// fake: a scenario calling it directly fails "hung in start" at its
// timeout, a host-driven one fails too, each scenario (its cleanup
// included) ends within its bounds, and the run moves on.
func TestSuiteReportsHungVerb(t *testing.T) {
	faults := filepath.Join(t.TempDir(), "faults.json")
	b, _ := json.Marshal([]map[string]any{{"verb": "start", "action": "hang", "count": -1}})
	if err := os.WriteFile(faults, b, 0o644); err != nil {
		t.Fatal(err)
	}
	const timeout = 10 * time.Second
	r, _ := runPluginTimeout(t, "fake", `^(plugin\.idempotent|lifecycle\.create)$`, map[string]string{"fault_file": faults}, timeout)
	if !r.Failed() {
		t.Fatal("a backend whose Start hangs passed the suite")
	}
	// the scenario's timeout, its cleanup's (at most the same), and the
	// grace the suite gives each to return
	bound := 2*timeout + 2*10*time.Second
	for _, id := range []string{"plugin.idempotent", "lifecycle.create"} {
		s, ok := r.Result(id)
		if !ok || s.Outcome != conformance.OutcomeFail {
			t.Errorf("%s: %+v, want a failure", id, s)
			continue
		}
		if d := time.Duration(s.DurationMS) * time.Millisecond; d > bound {
			t.Errorf("%s took %s, want at most %s (timeout %s)", id, d, bound, timeout)
		}
	}
	if s, _ := r.Result("plugin.idempotent"); !strings.Contains(s.Error, "hung in start") {
		t.Errorf("plugin.idempotent: %q, want it to say the plugin hung in start", s.Error)
	}
}

// TestUndeclaredFeatureIsNotRun runs a backend that lacks the logs verb
// (and so cannot declare the boot log): that scenario is skipped, not run
// and not failed, the run passes, and the matrix shows the row as the other
// backend's only, not as parity.
func TestUndeclaredFeatureIsNotRun(t *testing.T) {
	filter := `^(lifecycle\.create|bootstrap\.boot_log)$`
	nologs, dirN := runPlugin(t, "nologs", filter, nil)
	if nologs.Failed() {
		t.Fatalf("a backend that declares less failed the suite: %+v", nologs.Scenarios)
	}
	if s, ok := nologs.Result("bootstrap.boot_log"); !ok || s.Outcome != conformance.OutcomeSkip {
		t.Errorf("boot log on a backend without logs: %+v, want %s", s, conformance.OutcomeSkip)
	}
	if s, ok := nologs.Result("lifecycle.create"); !ok || s.Outcome != conformance.OutcomePass {
		t.Errorf("create: %+v, want pass", s)
	}
	_, dirF := runFake(t, filter, nil)
	var all []*conformance.Results
	for _, dir := range []string{dirF, dirN} {
		rs, err := conformance.ReadResultsDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	md, err := conformance.Matrix{Results: all}.Render()
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(string(md), "\n") {
		if strings.HasPrefix(l, "|") && strings.Contains(l, "`bootstrap.boot_log`") {
			row = l
		}
	}
	if !strings.Contains(row, "fake-only") || strings.Contains(row, "parity") {
		t.Errorf("boot log row %q, want fake-only", row)
	}
	if !strings.Contains(string(md), "nologs does not declare it") {
		t.Error("the missing cell is not among the drift risks")
	}
}

// TestManifestDeclaresKnownFeatures keeps the registry and the sdk feature
// list in step: every sdk feature has a scenario.
func TestManifestDeclaresKnownFeatures(t *testing.T) {
	have := map[string]bool{}
	for _, s := range conformance.Scenarios() {
		have[s.Feature] = true
	}
	for f := range sdk.FeatureNeeds {
		if !have[f] {
			t.Errorf("feature %s has no scenario (no matrix row)", f)
		}
	}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
