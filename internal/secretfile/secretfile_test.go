package secretfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/internal/secretfile"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := map[string]struct {
		path    string
		want    string
		wantErr string
	}{
		"owner only":     {path: write("ok", " tok\n", 0o600), want: "tok"},
		"read only":      {path: write("ro", "tok", 0o400), want: "tok"},
		"group readable": {path: write("g", "tok", 0o640), wantErr: "mode 0640"},
		"world readable": {path: write("w", "tok", 0o604), wantErr: "chmod 600"},
		"empty":          {path: write("e", " \n", 0o600), wantErr: "empty secret file"},
		"oversized":      {path: write("big", strings.Repeat("x", 65<<10), 0o600), wantErr: "over"},
		"a directory":    {path: dir, wantErr: "not a regular file"},
		"missing":        {path: filepath.Join(dir, "none"), wantErr: "no such file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := secretfile.Read(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Read = %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Read = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
