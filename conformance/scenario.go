package conformance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Scenario is one row of the parity matrix: a check the suite runs against
// every backend that declares its feature.
type Scenario struct {
	// ID is stable across releases ("lifecycle.create"); results, JUnit and
	// the matrix key on it.
	ID    string
	Area  string // one of the Areas ids
	Title string // the matrix row's label
	// Feature is the sdk.Feature* id whose manifest note becomes the cell.
	// "" means the scenario checks the plugin contract itself and every
	// backend must pass it.
	Feature string
	// Needs lists capabilities the backend must implement for the
	// scenario to run.
	Needs []sdk.Capability
	// Direct scenarios talk to the plugin alone; the others drive a host.
	Direct bool
	Run    func(ctx context.Context, t *T) error
}

// Area is one group of matrix rows.
type Area struct {
	ID, Title string
}

// Areas are the matrix's row groups, in rendering order, as in the
// hand-written matrix this suite replaces.
var Areas = []Area{
	{"lifecycle", "Lifecycle"},
	{"bootstrap", "Bootstrap signals"},
	{"orphans", "Orphan cleanup"},
	{"plugin", "Plugin contract"},
}

var (
	registryMu sync.Mutex
	registry   []Scenario
)

// register adds scenarios to the registry; each area file calls it from
// init. A duplicate id is a programming error and panics.
func register(ss ...Scenario) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, s := range ss {
		for _, x := range registry {
			if x.ID == s.ID {
				panic("conformance: duplicate scenario id " + s.ID)
			}
		}
		registry = append(registry, s)
	}
}

// Scenarios returns every registered scenario, ordered by area (see Areas)
// and then by registration order within the area.
func Scenarios() []Scenario {
	registryMu.Lock()
	out := append([]Scenario(nil), registry...)
	registryMu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return areaRank(out[i].Area) < areaRank(out[j].Area) })
	return out
}

func areaRank(id string) int {
	for i, a := range Areas {
		if a.ID == id {
			return i
		}
	}
	return len(Areas)
}

// skipReason says why s must not run against a backend with manifest m, or
// "" when it runs.
func skipReason(s Scenario, m *sdk.Manifest) string {
	if s.Feature != "" {
		if _, ok := m.Features[s.Feature]; !ok {
			return fmt.Sprintf("feature %s is not declared in the manifest", s.Feature)
		}
	}
	for _, c := range s.Needs {
		if !sdk.HasCapability(m.Capabilities, c) {
			return fmt.Sprintf("capability %s is not implemented", c)
		}
	}
	return ""
}

// T is a scenario's handle on the backend under test. Cleanup functions run
// in reverse order after the scenario returns, failed or not.
type T struct {
	// Backend is the manifest's backend name; Manifest the whole manifest.
	Backend  string
	Manifest *sdk.Manifest
	// Host is the API client of the host under test; nil for Direct
	// scenarios.
	Host *Client
	// Plugin is a configured connection to the plugin under test, launched
	// by the suite itself, for checks on the substrate behind the host.
	Plugin sdk.Backend
	// Config is the backend configuration the suite configured it with.
	Config map[string]string
	// Image is the workspace image direct Start calls use.
	Image string

	launch  func(ctx context.Context) (sdk.Backend, func(), error)
	created *idSet
	hangs   *hangs // nil outside runOne

	// mu guards cleanups and logs: a scenario the suite stopped waiting
	// for may still add to them.
	mu       sync.Mutex
	cleanups []func(ctx context.Context) error
	logs     []string
	// agentDirs are the agent directories of direct Start calls, by id.
	agentDirs map[string]string
}

// Cleanup registers fn to run after the scenario, even when it fails.
func (t *T) Cleanup(fn func(ctx context.Context) error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, fn)
}

// Logf records a line shown with the scenario's result when it fails.
func (t *T) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
}

func (t *T) logLines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.logs...)
}

// Track records a workspace id the scenario made the backend hold, so the
// leak check looks for it at the end of the run.
func (t *T) Track(id string) { t.created.add(id) }

// LaunchPlugin starts a new, unconfigured process of the plugin under test,
// stopped by the scenario's cleanup.
func (t *T) LaunchPlugin(ctx context.Context) (sdk.Backend, error) {
	b, stop, err := t.launch(ctx)
	if err != nil {
		return nil, fmt.Errorf("launch a second plugin process: %w", err)
	}
	t.Cleanup(func(context.Context) error { stop(); return nil })
	if t.hangs != nil {
		return watched{b, t.hangs}, nil
	}
	return b, nil
}

// runCleanups runs the cleanup stack in reverse order and joins the errors.
func (t *T) runCleanups(ctx context.Context) error {
	var errs []error
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		fn := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		if err := fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
		}
	}
	return errors.Join(errs...)
}

// idSet is a concurrency-safe set of workspace ids.
type idSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func newIDSet() *idSet { return &idSet{ids: map[string]bool{}} }

func (s *idSet) add(id string) {
	s.mu.Lock()
	s.ids[id] = true
	s.mu.Unlock()
}

func (s *idSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}
