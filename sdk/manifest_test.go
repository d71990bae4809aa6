package sdk_test

import (
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/sdk"
)

func TestManifestValidateCapabilities(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		caps []sdk.Capability
		want string // "" when valid
	}{
		"core and optional": {caps: sdk.KnownCapabilities},
		"none":              {},
		"unknown":           {caps: []sdk.Capability{sdk.CapStart, "teleport"}, want: `capabilities[1]: "teleport" is not a capability this host knows`},
		"huge unknown":      {caps: []sdk.Capability{sdk.Capability(strings.Repeat("x", 1<<20))}, want: `capabilities[0]: "` + strings.Repeat("x", 64) + `" is not`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := &sdk.Manifest{Name: "acme", ProtocolVersion: sdk.ProtocolVersion, Capabilities: tc.caps}
			err := m.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.want != "" && (!sdk.IsKind(err, sdk.KindInvalid) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %.300v, want KindInvalid containing %q", err, tc.want)
			}
		})
	}
}
