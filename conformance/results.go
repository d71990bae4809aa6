package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Schema is the version tag of the results JSON. A reader refuses any other
// value; a change that breaks readers bumps it.
const Schema = "molecule.conformance/v1"

// Outcome is the result of one scenario on one backend.
type Outcome string

// Outcomes. A scenario whose feature the manifest does not declare, or whose
// capabilities the backend lacks, is never run: OutcomeSkip.
const (
	OutcomePass Outcome = "pass"
	OutcomeFail Outcome = "fail"
	OutcomeSkip Outcome = "skip-not-declared"
)

// Results is everything one run of the suite learned about one backend. It
// is written as <backend>.json and is the matrix renderer's only input
// besides the dispatch table.
type Results struct {
	Schema    string           `json:"schema"`
	Backend   BackendInfo      `json:"backend"`
	StartedAt time.Time        `json:"started_at"`
	Scenarios []ScenarioResult `json:"scenarios"`
	Leaks     []Leak           `json:"leaks"`
}

// BackendInfo is the plugin's manifest as the suite read it.
type BackendInfo struct {
	Name         string                 `json:"name"`
	Version      string                 `json:"version"`
	Protocol     int                    `json:"protocol"`
	Description  string                 `json:"description,omitempty"`
	Capabilities []sdk.Capability       `json:"capabilities"`
	Features     map[string]FeatureDecl `json:"features"`
}

// FeatureDecl is one feature a manifest declares: its note (the matrix
// cell's text) and its semantic attributes.
type FeatureDecl struct {
	Note       string            `json:"note"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ScenarioResult is the outcome of one scenario.
type ScenarioResult struct {
	ID         string  `json:"id"`
	Area       string  `json:"area"`
	Title      string  `json:"title"`
	Feature    string  `json:"feature,omitempty"`
	Outcome    Outcome `json:"outcome"`
	DurationMS int64   `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

// Leak is one workspace the run created that the backend still holds
// resources for after every scenario cleaned up.
type Leak struct {
	WorkspaceID string   `json:"workspace_id"`
	State       string   `json:"state"`
	Resources   []string `json:"resources,omitempty"`
}

// BackendInfoOf converts a manifest into the results' backend block.
func BackendInfoOf(m *sdk.Manifest) BackendInfo {
	bi := BackendInfo{
		Name: m.Name, Version: m.Version, Protocol: m.ProtocolVersion, Description: m.Description,
		Capabilities: append([]sdk.Capability{}, m.Capabilities...),
		Features:     make(map[string]FeatureDecl, len(m.Features)),
	}
	for id, f := range m.Features {
		bi.Features[id] = FeatureDecl{Note: f.Note, Attributes: f.Attributes}
	}
	return bi
}

// Failed reports whether the run must fail: a declared scenario failed or
// the leak check found something.
func (r *Results) Failed() bool {
	if len(r.Leaks) > 0 {
		return true
	}
	for _, s := range r.Scenarios {
		if s.Outcome == OutcomeFail {
			return true
		}
	}
	return false
}

// Result returns the result of scenario id, if the run has one.
func (r *Results) Result(id string) (ScenarioResult, bool) {
	for _, s := range r.Scenarios {
		if s.ID == id {
			return s, true
		}
	}
	return ScenarioResult{}, false
}

// WriteFile writes r as indented JSON to path.
func (r *Results) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results for %s: %w", r.Backend.Name, err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadResultsFile reads and validates one results JSON file.
func ReadResultsFile(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read results %s: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("read results %s: schema %q is not supported, want %q", path, r.Schema, Schema)
	}
	if r.Backend.Name == "" {
		return nil, fmt.Errorf("read results %s: backend.name is empty", path)
	}
	for i, s := range r.Scenarios {
		switch s.Outcome {
		case OutcomePass, OutcomeFail, OutcomeSkip:
		default:
			return nil, fmt.Errorf("read results %s: scenarios[%d] (%s): unknown outcome %q", path, i, s.ID, s.Outcome)
		}
	}
	return &r, nil
}

// ReadResultsDir reads every *.json results file in dir, sorted by backend
// name. Two files for the same backend, or none at all, is an error.
func ReadResultsDir(dir string) ([]*Results, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("read results dir: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("read results dir %s: no *.json results files", dir)
	}
	var all []*Results
	seen := map[string]string{}
	var errs []string
	for _, p := range paths {
		r, err := ReadResultsFile(p)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if prev, dup := seen[r.Backend.Name]; dup {
			errs = append(errs, fmt.Sprintf("backend %q has two results files: %s and %s", r.Backend.Name, prev, p))
			continue
		}
		seen[r.Backend.Name] = p
		all = append(all, r)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Backend.Name < all[j].Backend.Name })
	return all, nil
}
