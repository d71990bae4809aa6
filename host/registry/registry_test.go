package registry

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// TestCheckAgentURL pins the rule that keeps the A2A proxy from being
// pointed anywhere: an agent may only register a URL on the address its
// backend placed it at.
func TestCheckAgentURL(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url, address string
		kind         sdk.Kind
		ok           bool
	}{
		"loopback agent":            {"http://127.0.0.1:4100", "127.0.0.1", 0, true},
		"cp private ip":             {"http://127.0.1.7:39000/", "127.0.1.7", 0, true},
		"ipv6 spelled differently":  {"http://[0:0:0:0:0:0:0:1]:80", "::1", 0, true},
		"another host":              {"http://169.254.169.254/latest", "127.0.0.1", sdk.KindInvalid, false},
		"name instead of address":   {"http://localhost:4100", "127.0.0.1", sdk.KindInvalid, false},
		"not http":                  {"file:///etc/passwd", "127.0.0.1", sdk.KindInvalid, false},
		"relative":                  {"/a2a", "127.0.0.1", sdk.KindInvalid, false},
		"backend not placed it yet": {"http://127.0.0.1:4100", "", sdk.KindTransient, false},
		"exact endpoint":            {"http://127.0.1.7:8000/", "127.0.1.7:8000", 0, true},
		"endpoint, other port":      {"http://127.0.1.7:8001/", "127.0.1.7:8000", sdk.KindInvalid, false},
		"endpoint, other host":      {"http://127.0.0.1:8000/", "127.0.1.7:8000", sdk.KindInvalid, false},
		"agent socket":              {"unix:///run/molecule/agent.sock", "unix:/srv/agents/ws/agent.sock", 0, true},
		"http on a socket endpoint": {"http://127.0.0.1:8000/", "unix:/srv/agents/ws/agent.sock", sdk.KindInvalid, false},
		"socket on a tcp endpoint":  {"unix:///run/molecule/agent.sock", "127.0.1.7:8000", sdk.KindInvalid, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := checkAgentURL(tc.url, tc.address)
			if (err == nil) != tc.ok {
				t.Fatalf("checkAgentURL(%q, %q) = %v, want ok=%v", tc.url, tc.address, err, tc.ok)
			}
			if !tc.ok && !sdk.IsKind(err, tc.kind) {
				t.Errorf("kind %s, want %s (%v)", sdk.KindOf(err), tc.kind, err)
			}
		})
	}
}

// TestCheckBootEvent pins what a boot event must be before anything of it
// is stored, and that a long detail is cut to MaxBootDetail on a rune
// boundary instead of refused.
func TestCheckBootEvent(t *testing.T) {
	t.Parallel()
	hash := agentapi.ConfigHash(map[string][]byte{"a.yaml": []byte("x: 1")})
	long := strings.Repeat("é", MaxBootDetail) // 2 bytes a rune
	tests := map[string]struct {
		ev    agentapi.BootEvent
		field string // "" when valid
	}{
		"config applied":              {agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied, ConfigHash: hash}, ""},
		"ready":                       {agentapi.BootEvent{Phase: agentapi.PhaseReady, Detail: "http://127.0.0.1:1"}, ""},
		"failed with a long detail":   {agentapi.BootEvent{Phase: agentapi.PhaseFailed, Detail: long}, ""},
		"unknown phase":               {agentapi.BootEvent{Phase: "pwned"}, "phase"},
		"no phase":                    {agentapi.BootEvent{}, "phase"},
		"config applied without hash": {agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied}, "config_hash"},
		"hash not hex":                {agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied, ConfigHash: strings.Repeat("z", 64)}, "config_hash"},
		"hash upper case":             {agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied, ConfigHash: strings.ToUpper(hash)}, "config_hash"},
		"hash too long":               {agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied, ConfigHash: hash + strings.Repeat("0", 1<<12)}, "config_hash"},
		"hash on another phase":       {agentapi.BootEvent{Phase: agentapi.PhaseReady, ConfigHash: "x"}, "config_hash"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ev := tc.ev
			err := CheckBootEvent(&ev)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("CheckBootEvent(%+.80v) = %v, want nil", tc.ev, err)
				}
				if len(ev.Detail) > MaxBootDetail || !utf8.ValidString(ev.Detail) {
					t.Errorf("detail kept is %d bytes (valid UTF-8: %v), want at most %d", len(ev.Detail), utf8.ValidString(ev.Detail), MaxBootDetail)
				}
				if len(tc.ev.Detail) > MaxBootDetail && !strings.HasSuffix(ev.Detail, truncatedMark) {
					t.Errorf("truncated detail does not say so: ...%q", ev.Detail[len(ev.Detail)-20:])
				}
				return
			}
			var se *sdk.Error
			if !errors.As(err, &se) || se.Kind != sdk.KindInvalid || len(se.Fields) != 1 || se.Fields[0].Path != tc.field {
				t.Fatalf("CheckBootEvent = %v, want KindInvalid on field %q", err, tc.field)
			}
		})
	}
}
