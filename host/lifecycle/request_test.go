package lifecycle_test

import (
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/sdk"
)

// TestCreateRequestValidate attacks the create request: each bad request
// is refused naming the offending field, so it never reaches the database
// (a NUL byte there would be a 500) or a backend (a file below a file
// fails the start).
func TestCreateRequestValidate(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		req       lifecycle.CreateRequest
		wantField string // "" for a valid request
		wantMsg   string
	}{
		"valid":                  {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Config: map[string]string{"a/b": "x", "a/c": "y", "ab": "z"}}},
		"runtime with a slash":   {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Runtime: "../x"}, wantField: "runtime", wantMsg: "letters, digits"},
		"runtime with a NUL":     {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Runtime: "echo\x00"}, wantField: "runtime"},
		"runtime too long":       {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Runtime: strings.Repeat("r", 65)}, wantField: "runtime"},
		"file below a file":      {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Config: map[string]string{"a": "x", "a/b": "y"}}, wantField: "config.a/b", wantMsg: `below "a", which is a file`},
		"file deep below a file": {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Config: map[string]string{"a": "x", "a/b/c": "y"}}, wantField: "config.a/b/c", wantMsg: `below "a"`},
		"NUL in a config file":   {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Config: map[string]string{"a": "x\x00y"}}, wantField: "config.a", wantMsg: "NUL"},
		"NUL in a config path":   {req: lifecycle.CreateRequest{Name: "ok", Backend: "fake", Config: map[string]string{"a\x00": "x"}}, wantField: "config.a\x00"},
		"NUL in the name":        {req: lifecycle.CreateRequest{Name: "ok\x00", Backend: "fake"}, wantField: "name"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.req.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			se, ok := err.(*sdk.Error)
			if !ok || se.Kind != sdk.KindInvalid || len(se.Fields) != 1 || se.Fields[0].Path != tc.wantField || !strings.Contains(se.Fields[0].Message, tc.wantMsg) {
				t.Fatalf("Validate = %#v, want invalid naming only %q saying %q", err, tc.wantField, tc.wantMsg)
			}
		})
	}
}
