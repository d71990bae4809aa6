package registry

import (
	"testing"

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
