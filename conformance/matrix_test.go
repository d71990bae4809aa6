package conformance

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func mustMatrix(tb testing.TB) Matrix {
	tb.Helper()
	results, err := ReadResultsDir(filepath.Join("testdata", "matrix", "results"))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "matrix", "dispatch.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var d []DispatchRow
	if err := json.Unmarshal(b, &d); err != nil {
		tb.Fatal(err)
	}
	return Matrix{Results: results, Dispatch: d}
}

func TestRenderGolden(t *testing.T) {
	got, err := mustMatrix(t).Render()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "matrix", "backends.golden.md")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./conformance -run TestRenderGolden -update)", err)
	}
	if err := Check(want, got); err != nil {
		t.Error(err)
	}
	again, _ := mustMatrix(t).Render()
	if string(again) != string(got) {
		t.Error("two renders of the same input differ")
	}
}

// TestRenderCells pins the cells and verdicts the golden file must show.
func TestRenderCells(t *testing.T) {
	got, err := mustMatrix(t).Render()
	if err != nil {
		t.Fatal(err)
	}
	out := string(got)
	for name, want := range map[string]string{
		"header":       GeneratedHeader,
		"FAIL cell":    "DELETE /cp/workspaces/:id 🔴 **FAIL** | container stop, kept for start ✅ | 🔴 **FAIL** (cp) |",
		"divergent":    "⚠️ divergent: config_delivery async (cp) vs sync (docker) |",
		"missing cell": "| n/a (not declared) | containers labelled molecule.workspace ✅ | 🟡 docker-only |",
		"n/a row":      "| Pause | `lifecycle.pause` | n/a (not declared) | n/a (not declared) | n/a (no backend declares it) |",
		"pipe escaped": `config files in user-data \| applied at boot`,
		"parity":       "| Create | `lifecycle.create` | CP provision; instance boots from user-data ✅ | container create + start ✅ | ✅ parity |",
		"dispatch":     "| Stop | `dispatch.Stop` | no-op, logged | transient errors retried with backoff |",
		"footer":       "- `docker` 1.2.0, protocol 1, capabilities: configure, destroy, exec, files, list_managed, logs, start, status, stop; 🔴 leak check found 1 workspace(s) left behind",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%s: output lacks %q", name, want)
		}
	}
	for _, banned := range []string{"2026-11-20", "4100", "duration"} {
		if strings.Contains(out, banned) {
			t.Errorf("output contains run-dependent %q", banned)
		}
	}
}

func TestDriftRiskOrder(t *testing.T) {
	risks := driftRisks(buildRows(mustMatrix(t).Results))
	var ids []string
	for _, r := range risks {
		start := strings.Index(r, "(`") + 2
		ids = append(ids, r[start:start+strings.Index(r[start:], "`")])
	}
	want := []string{"lifecycle.stop", "orphans.list", "bootstrap.config_delivery"}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("drift risks order (-want +got):\n%s", d)
	}
}

func TestComputeVerdict(t *testing.T) {
	t.Parallel()
	pass := func(b string, attrs map[string]string) cell { return cell{backend: b, kind: cellPass, attrs: attrs} }
	tests := map[string]struct {
		cells []cell
		want  verdictKind
	}{
		"all pass":        {[]cell{pass("a", nil), pass("b", nil)}, verdictParity},
		"attr differs":    {[]cell{pass("a", map[string]string{"x": "1"}), pass("b", map[string]string{"x": "2"})}, verdictDivergent},
		"attr unset once": {[]cell{pass("a", map[string]string{"x": "1"}), pass("b", nil)}, verdictDivergent},
		"one undeclared":  {[]cell{pass("a", nil), {backend: "b"}}, verdictOnly},
		"none declared":   {[]cell{{backend: "a"}, {backend: "b"}}, verdictNA},
		"fail beats only": {[]cell{{backend: "a", kind: cellFail}, {backend: "b"}}, verdictFail},
		"not run":         {[]cell{pass("a", nil), {backend: "b", kind: cellNotRun}}, verdictNotRun},
		"single backend":  {[]cell{pass("a", map[string]string{"x": "1"})}, verdictParity},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := computeVerdict(row{cells: tc.cells}); got.kind != tc.want {
				t.Errorf("verdict %v (%s), want %v", got.kind, got.text, tc.want)
			}
		})
	}
}

func TestCheckReportsDiff(t *testing.T) {
	got, err := mustMatrix(t).Render()
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(got, got); err != nil {
		t.Fatalf("identical files: %v", err)
	}
	edited := strings.Replace(string(got), "✅ parity", "✅ parity (hand-edited)", 1)
	err = Check([]byte(edited), got)
	if err == nil || !strings.Contains(err.Error(), "2 line(s) differ") || !strings.Contains(err.Error(), "hand-edited") {
		t.Errorf("Check of a hand-edited file: %v", err)
	}
}

func TestReadResultsRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ body, want string }{
		"schema":  {`{"schema":"molecule.conformance/v0","backend":{"name":"x"}}`, `schema "molecule.conformance/v0" is not supported`},
		"name":    {`{"schema":"molecule.conformance/v1","backend":{}}`, "backend.name is empty"},
		"outcome": {`{"schema":"molecule.conformance/v1","backend":{"name":"x"},"scenarios":[{"id":"a","outcome":"ok"}]}`, `unknown outcome "ok"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x.json"), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadResultsDir(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
