package conformance

import (
	"fmt"
	"sort"
	"strings"
)

// cellKind is what one backend's cell of a matrix row says.
type cellKind int

const (
	cellUndeclared cellKind = iota // the manifest does not declare the feature: n/a, not run
	cellPass                       // declared and passed
	cellFail                       // declared and failed
	cellNotRun                     // declared but not in the results (filtered out with --run)
)

// cell is one backend's cell of a row.
type cell struct {
	backend string
	kind    cellKind
	note    string
	attrs   map[string]string
}

// row is one matrix row: a scenario and its cell per backend.
type row struct {
	id, area, title, feature string
	cells                    []cell // in backend order
}

// verdictKind orders verdicts by how much they matter.
type verdictKind int

const (
	verdictParity verdictKind = iota
	verdictNA
	verdictNotRun
	verdictDivergent
	verdictOnly
	verdictFail
)

// verdict is a row's computed verdict (DESIGN.md §8).
type verdict struct {
	kind verdictKind
	text string // the verdict column
	// backends the verdict is about: failing, declaring (only), ...
	who []string
	// divergent attributes: key -> "value (backends)" in value order
	diff []string
}

// computeVerdict: any declared cell failed = FAIL; declared by none = n/a;
// declared by some = <backend>-only; declared by all and passed = parity,
// or divergent when a semantic attribute differs.
func computeVerdict(r row) verdict {
	var failed, declared, notRun []string
	for _, c := range r.cells {
		switch c.kind {
		case cellFail:
			failed = append(failed, c.backend)
		case cellNotRun:
			notRun = append(notRun, c.backend)
		}
		if c.kind != cellUndeclared {
			declared = append(declared, c.backend)
		}
	}
	switch {
	case len(failed) > 0:
		return verdict{kind: verdictFail, who: failed, text: "🔴 **FAIL** (" + strings.Join(failed, ", ") + ")"}
	case len(declared) == 0:
		return verdict{kind: verdictNA, text: "n/a (no backend declares it)"}
	case len(declared) < len(r.cells):
		return verdict{kind: verdictOnly, who: declared, text: "🟡 " + strings.Join(declared, ", ") + "-only"}
	case len(notRun) > 0:
		return verdict{kind: verdictNotRun, who: notRun, text: "⚪ not run (" + strings.Join(notRun, ", ") + ")"}
	}
	if diff := attributeDiff(r.cells); len(diff) > 0 {
		return verdict{kind: verdictDivergent, diff: diff, text: "⚠️ divergent: " + strings.Join(diff, "; ")}
	}
	return verdict{kind: verdictParity, text: "✅ parity"}
}

// attributeDiff lists every attribute whose value is not the same on every
// backend, as "key: a (x) vs b (y, z)"; a backend without the key counts as
// "unset".
func attributeDiff(cells []cell) []string {
	keys := map[string]bool{}
	for _, c := range cells {
		for k := range c.attrs {
			keys[k] = true
		}
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		byValue := map[string][]string{}
		for _, c := range cells {
			v, ok := c.attrs[k]
			if !ok {
				v = "unset"
			}
			byValue[v] = append(byValue[v], c.backend)
		}
		if len(byValue) < 2 {
			continue
		}
		var parts []string
		for _, v := range sortedKeys(byValue) {
			parts = append(parts, fmt.Sprintf("%s (%s)", v, strings.Join(byValue[v], ", ")))
		}
		out = append(out, k+" "+strings.Join(parts, " vs "))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// buildRows collects the matrix rows from the results: the union of their
// scenarios, grouped by area (Areas order, then unknown areas by id), in
// first-seen order within an area. Results must be sorted by backend.
func buildRows(results []*Results) []row {
	var order []ScenarioResult
	seen := map[string]bool{}
	for _, r := range results {
		for _, s := range r.Scenarios {
			if !seen[s.ID] {
				seen[s.ID] = true
				order = append(order, s)
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		ri, rj := areaRank(order[i].Area), areaRank(order[j].Area)
		if ri != rj {
			return ri < rj
		}
		return ri == len(Areas) && order[i].Area < order[j].Area
	})
	rows := make([]row, 0, len(order))
	for _, s := range order {
		rw := row{id: s.ID, area: s.Area, title: s.Title, feature: s.Feature}
		for _, r := range results {
			rw.cells = append(rw.cells, cellOf(r, s))
		}
		rows = append(rows, rw)
	}
	return rows
}

// cellOf derives one backend's cell: declaration from its manifest, result
// from its run.
func cellOf(r *Results, s ScenarioResult) cell {
	c := cell{backend: r.Backend.Name, note: "required of every backend"}
	if s.Feature != "" {
		f, ok := r.Backend.Features[s.Feature]
		if !ok {
			return cell{backend: r.Backend.Name, kind: cellUndeclared}
		}
		c.note, c.attrs = f.Note, f.Attributes
	}
	res, ok := r.Result(s.ID)
	switch {
	case !ok:
		c.kind = cellNotRun
	case res.Outcome == OutcomePass:
		c.kind = cellPass
	case res.Outcome == OutcomeFail:
		c.kind = cellFail
	default:
		// declared in the manifest, yet skipped: a needed capability is missing
		c.kind = cellUndeclared
	}
	return c
}
