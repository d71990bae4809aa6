package moleculehost_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/molecule-ai/molecule-host"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// TestImportRules enforces the layout rules of DESIGN.md section 4 on the
// real import graph (transitively), so no rule rests on string matching.
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	rules := []struct {
		name   string
		from   func(string) bool
		banned func(from, dep string) bool
		direct bool // check direct imports only
	}{
		{"sdk, conformance and plugins never import host", func(p string) bool {
			return under(p, "sdk") || under(p, "conformance") || under(p, "plugins") || under(p, "agentapi") || under(p, "agent")
		}, func(_, d string) bool { return under(d, "host") }, false},
		{"no plugin imports another", func(p string) bool { return under(p, "plugins") }, func(f, d string) bool {
			return under(d, "plugins") && pluginOf(d) != pluginOf(f)
		}, false},
		{"httpapi never reaches pluginmgr or pluginrpc", func(p string) bool { return under(p, "host/httpapi") }, func(_, d string) bool {
			return under(d, "host/pluginmgr") || under(d, "sdk/pluginrpc")
		}, false},
		{"only pluginmgr in the host imports pluginrpc", func(p string) bool {
			return under(p, "host") && !under(p, "host/pluginmgr")
		}, func(_, d string) bool { return under(d, "sdk/pluginrpc") }, true},
		{"sdk, host and agentapi root packages are stdlib only", func(p string) bool {
			return p == module+"/sdk" || p == module+"/host" || p == module+"/agentapi"
		}, func(_, d string) bool { return strings.Contains(strings.SplitN(d, "/", 2)[0], ".") && !under(d, "sdk") }, true},
		{"nothing imports cmd", func(p string) bool { return !under(p, "cmd") }, func(_, d string) bool { return under(d, "cmd") }, false},
	}
	for _, r := range rules {
		for _, p := range pkgs {
			if !r.from(p.ImportPath) {
				continue
			}
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, d := range deps {
				if r.banned(p.ImportPath, d) {
					t.Errorf("%s: %s imports %s", r.name, p.ImportPath, d)
				}
			}
		}
	}
}

func under(p, dir string) bool {
	full := module + "/" + dir
	return p == full || strings.HasPrefix(p, full+"/")
}

func pluginOf(p string) string {
	rest := strings.TrimPrefix(p, module+"/plugins/")
	return strings.SplitN(rest, "/", 2)[0]
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}
