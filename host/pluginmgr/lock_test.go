package pluginmgr_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
)

const (
	sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sumB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestReadLock(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body    string
		want    map[string]string
		wantErr string // substring; "" means success
	}{
		"two entries":       {body: sumA + "  molecule-backend-a\n" + sumB + "  molecule-backend-b\n", want: map[string]string{"molecule-backend-a": sumA, "molecule-backend-b": sumB}},
		"binary mode star":  {body: sumA + " *molecule-backend-a\n", want: map[string]string{"molecule-backend-a": sumA}},
		"blank lines, crlf": {body: "\n" + sumA + "  molecule-backend-a\r\n\n", want: map[string]string{"molecule-backend-a": sumA}},
		"uppercase hex":     {body: strings.ToUpper(sumB) + "  molecule-backend-b\n", want: map[string]string{"molecule-backend-b": sumB}},
		"empty file":        {body: "", want: map[string]string{}},
		"one space":         {body: sumA + "  molecule-backend-a\n" + sumB + " molecule-backend-b\n", wantErr: "line 2: want"},
		"no name":           {body: sumA + "\n", wantErr: "line 1: want"},
		"short digest":      {body: "abc123  molecule-backend-a\n", wantErr: `line 1: "abc123" is not a sha256 hex digest`},
		"not hex":           {body: strings.Repeat("z", 64) + "  molecule-backend-a\n", wantErr: "line 1:"},
		"path not name":     {body: sumA + "  ../molecule-backend-a\n", wantErr: `line 1: "../molecule-backend-a" is not a plain file name`},
		"duplicate":         {body: sumA + "  molecule-backend-a\n\n" + sumB + "  molecule-backend-a\n", wantErr: "line 3: molecule-backend-a is listed twice"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "plugins.lock")
			mustWrite(t, path, tc.body, 0o644)
			got, err := pluginmgr.ReadLock(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReadLock error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadLock: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReadLock (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadLockMissingFile(t *testing.T) {
	t.Parallel()
	_, err := pluginmgr.ReadLock(filepath.Join(t.TempDir(), "nope.lock"))
	if err == nil || !strings.Contains(err.Error(), "nope.lock") {
		t.Fatalf("ReadLock of a missing file = %v, want an error naming it", err)
	}
}

func TestWriteLockThenVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "molecule-backend-a"), "#!/bin/sh\necho a\n", 0o755)
	mustWrite(t, filepath.Join(dir, "molecule-backend-b"), "#!/bin/sh\necho b\n", 0o755)
	mustWrite(t, filepath.Join(dir, "README"), "not a plugin", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "molecule-backend-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := pluginmgr.WriteLock(dir, ""); err != nil {
		t.Fatalf("WriteLock: %v", err)
	}
	// The host refuses a lock file others could write (see Verify).
	if fi, err := os.Stat(filepath.Join(dir, "plugins.lock")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("written lock file: %v, mode %v, want 0644", err, fi.Mode())
	}
	lock, err := pluginmgr.ReadLock(filepath.Join(dir, "plugins.lock"))
	if err != nil {
		t.Fatalf("ReadLock of written lock: %v", err)
	}
	want := map[string]string{
		"molecule-backend-a": mustDigest(t, filepath.Join(dir, "molecule-backend-a")),
		"molecule-backend-b": mustDigest(t, filepath.Join(dir, "molecule-backend-b")),
	}
	if diff := cmp.Diff(want, lock); diff != "" {
		t.Fatalf("written lock (-want +got):\n%s", diff)
	}
	checks, err := pluginmgr.Verify(dir, "")
	if err != nil {
		t.Fatalf("Verify right after WriteLock: %v", err)
	}
	wantChecks := []pluginmgr.Check{
		{File: "molecule-backend-a", Want: want["molecule-backend-a"], Got: want["molecule-backend-a"], OK: true},
		{File: "molecule-backend-b", Want: want["molecule-backend-b"], Got: want["molecule-backend-b"], OK: true},
	}
	if diff := cmp.Diff(wantChecks, checks); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
}

func TestVerifyProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockPath := filepath.Join(t.TempDir(), "custom.lock") // lock outside dir
	mustWrite(t, filepath.Join(dir, "molecule-backend-ok"), "ok", 0o755)
	mustWrite(t, filepath.Join(dir, "molecule-backend-changed"), "changed", 0o755)
	mustWrite(t, filepath.Join(dir, "molecule-backend-new"), "new", 0o755)
	okSum := mustDigest(t, filepath.Join(dir, "molecule-backend-ok"))
	changedSum := mustDigest(t, filepath.Join(dir, "molecule-backend-changed"))
	newSum := mustDigest(t, filepath.Join(dir, "molecule-backend-new"))
	mustWrite(t, lockPath, okSum+"  molecule-backend-ok\n"+sumA+"  molecule-backend-changed\n"+sumB+"  molecule-backend-gone\n", 0o644)

	checks, err := pluginmgr.Verify(dir, lockPath)
	if err == nil {
		t.Fatal("Verify = nil error, want the problems")
	}
	got := map[string]pluginmgr.Check{}
	for _, c := range checks {
		got[c.File] = c
	}
	tests := map[string]struct {
		want     pluginmgr.Check
		problems []string // substrings of Problem and of the joined error
	}{
		"molecule-backend-ok":      {want: pluginmgr.Check{File: "molecule-backend-ok", Want: okSum, Got: okSum, OK: true}},
		"molecule-backend-changed": {want: pluginmgr.Check{File: "molecule-backend-changed", Want: sumA, Got: changedSum}, problems: []string{"molecule-backend-changed", sumA, changedSum, "mismatch"}},
		"molecule-backend-new":     {want: pluginmgr.Check{File: "molecule-backend-new", Got: newSum}, problems: []string{"molecule-backend-new", newSum, "not listed"}},
		"molecule-backend-gone":    {want: pluginmgr.Check{File: "molecule-backend-gone", Want: sumB}, problems: []string{"molecule-backend-gone", "missing from " + dir}},
	}
	if len(checks) != len(tests) {
		t.Errorf("Verify returned %d checks, want %d: %+v", len(checks), len(tests), checks)
	}
	for file, tc := range tests {
		c := got[file]
		problem := c.Problem
		c.Problem = ""
		if diff := cmp.Diff(tc.want, c); diff != "" {
			t.Errorf("check %s (-want +got):\n%s", file, diff)
		}
		for _, s := range tc.problems {
			if !strings.Contains(problem, s) || !strings.Contains(err.Error(), s) {
				t.Errorf("check %s: problem %q / error %q should contain %q", file, problem, err, s)
			}
		}
	}
}

func mustWrite(tb testing.TB, path, body string, mode os.FileMode) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		tb.Fatal(err)
	}
}

func mustDigest(tb testing.TB, path string) string {
	tb.Helper()
	sum, err := pluginmgr.Digest(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(sum) != 64 {
		tb.Fatalf("Digest(%s) = %q, want 64 hex digits", path, sum)
	}
	return sum
}
