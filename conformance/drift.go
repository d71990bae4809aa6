package conformance

import (
	"fmt"
	"sort"
	"strings"

	"github.com/molecule-ai/molecule-host/sdk"
)

// fixPaths is the fix path the matrix prints for a drift risk on a
// feature; features not listed get the generic text.
var fixPaths = map[string]string{
	sdk.FeatureCreate:         "implement Start and Status so a workspace reaches online through the host's one create path; no backend-specific provisioning in handlers.",
	sdk.FeatureStart:          "make Start create-or-start from the full StartRequest; the host sends everything, every time.",
	sdk.FeatureStop:           "make Stop idempotent and report the workspace not running in Status afterwards; the host's Stop dispatcher is the only caller.",
	sdk.FeatureRestart:        "restart must read runtime and config from the database only (drift risk 3 of the hand-written matrix); never re-read them from the substrate.",
	sdk.FeatureDelete:         "Destroy must remove every resource (volumes too) and ListManaged must stop listing the workspace, or the orphan sweep finds a leak.",
	sdk.FeatureStatus:         "report running/stopped/missing in one batched Status call; liveness itself is the host's heartbeat TTL, the same for every backend.",
	sdk.FeatureReady:          "the agent must register and report config_applied with the host's config hash; online is decided by the host for every backend alike.",
	sdk.FeatureConfigDelivery: "online already waits for the agent's config_applied boot event with the database's hash, so users see the same behaviour; keep the attribute honest so the difference stays visible here.",
	sdk.FeatureBootLog:        "implement sdk.LogStreamer so GET /workspaces/{id}/boot-log serves this backend too (drift risk 4: one unified boot log).",
	sdk.FeatureOrphans:        "ListManaged must list every workspace the backend holds resources for, so the host's orphan listing and sweep cover it.",
}

// risk is one drift risk: a row whose verdict is not parity or n/a.
type risk struct {
	impact int
	index  int // matrix order, for ties
	text   string
}

// driftRisks computes the drift risks from the FAIL, missing and divergent
// rows, ordered by impact: failures first, then gaps (more backends
// missing first), then semantic divergences.
func driftRisks(rows []row) []string {
	var rs []risk
	for i, r := range rows {
		v := computeVerdict(r)
		var impact int
		var problem string
		switch v.kind {
		case verdictFail:
			impact = 300 + len(v.who)
			problem = fmt.Sprintf("declared by %s but its scenario `%s` fails; the matrix cannot claim it", strings.Join(v.who, ", "), r.id)
		case verdictOnly:
			missing := without(backendsOf(r), v.who)
			impact = 200 + len(missing)
			problem = fmt.Sprintf("%s %s not declare it: users of %s hit a gap", strings.Join(missing, ", "), doOrDoes(len(missing)), strings.Join(missing, ", "))
		case verdictDivergent:
			impact = 100 + len(v.diff)
			problem = "backends differ on " + strings.Join(v.diff, "; ")
		default:
			continue
		}
		rs = append(rs, risk{impact: impact, index: i, text: fmt.Sprintf("**%s** (`%s`): %s. **Fix path:** %s", r.title, r.id, problem, fixPath(r))})
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].impact != rs[j].impact {
			return rs[i].impact > rs[j].impact
		}
		return rs[i].index < rs[j].index
	})
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.text
	}
	return out
}

func fixPath(r row) string {
	if r.feature == "" {
		return "every backend must pass the plugin contract checks; see docs/writing-a-backend.md."
	}
	if p, ok := fixPaths[r.feature]; ok {
		return p
	}
	return fmt.Sprintf("implement the verbs feature %s needs, declare it in the manifest and rerun molecule-conformance.", r.feature)
}

func backendsOf(r row) []string {
	var out []string
	for _, c := range r.cells {
		out = append(out, c.backend)
	}
	return out
}

func without(all, drop []string) []string {
	var out []string
	for _, a := range all {
		keep := true
		for _, d := range drop {
			keep = keep && a != d
		}
		if keep {
			out = append(out, a)
		}
	}
	return out
}

func doOrDoes(n int) string {
	if n == 1 {
		return "does"
	}
	return "do"
}
