package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	setClause    = regexp.MustCompile(`(?is)\bUPDATE\s+workspaces\b.*?\bSET\b(.*?)(\bWHERE\b|$)`)
	statusAssign = regexp.MustCompile(`(?i)(^|[^a-z_])status\s*=`)
	insertCols   = regexp.MustCompile(`(?is)\bINSERT\s+INTO\s+workspaces\s*\(([^)]*)\)`)
	statusCol    = regexp.MustCompile(`(?i)(^|[^a-z_])status([^a-z_]|$)`)
)

// TestOnlyTransitionWritesStatus proves no SQL in this package outside
// transition.go writes the workspaces.status column.
func TestOnlyTransitionWritesStatus(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	writers := map[string]bool{}
	sqlSeen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, sql := range stringLiterals(t, f) {
			if !strings.Contains(strings.ToLower(sql), "workspaces") {
				continue
			}
			sqlSeen++
			if m := setClause.FindStringSubmatch(sql); m != nil && statusAssign.MatchString(m[1]) {
				writers[f] = true
			}
			if m := insertCols.FindStringSubmatch(sql); m != nil && statusCol.MatchString(m[1]) {
				writers[f] = true
			}
		}
	}
	if sqlSeen < 5 {
		t.Fatalf("found only %d SQL literals naming workspaces; the scan is broken", sqlSeen)
	}
	if !writers["transition.go"] {
		t.Error("transition.go does not write the status column; the scan is broken")
	}
	delete(writers, "transition.go")
	for f := range writers {
		t.Errorf("%s writes workspaces.status; only Transition (transition.go) may", f)
	}
}

func stringLiterals(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}
