// Package probetest builds the workspace probe (plugins/docker/testdata/probe)
// into an image of its own, FROM the workspace image, so tests can start a
// real workspace and run the probe inside it with docker exec. It also
// decodes what the probe prints. Only _test files import it; it imports
// nothing of this module.
package probetest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BaseImage is the workspace image the probe image is built from
// (scripts/image.sh builds it); ImageName is the probe image's tag.
const (
	BaseImage = "molecule-workspace:dev"
	ImageName = "molecule-probe:test"
)

// Path is where the probe is in the probe image.
const Path = "/probe"

// labelSum is the probe image's label naming what it was built from.
const labelSum = "molecule.probe-sha256"

var (
	once     sync.Once
	buildErr error
)

// Image returns the probe image's tag, building it the first time a test
// binary asks: the static probe added as /probe to BaseImage, which must
// exist. The image is rebuilt only when the probe or the base changed, so
// concurrent test binaries agree. The image keeps BaseImage's entrypoint
// (the agent), so a workspace of it boots like any other.
func Image(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { buildErr = build() })
	if buildErr != nil {
		tb.Fatalf("probe image: %v", buildErr)
	}
	return ImageName
}

func build() error {
	dir, err := os.MkdirTemp("", "probetest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if err := run(root, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "probe"), "./plugins/docker/testdata/probe"); err != nil {
		return err
	}
	base, err := output("docker", "image", "inspect", "--format", "{{.Id}}", BaseImage)
	if err != nil {
		return fmt.Errorf("the workspace image %s is needed (scripts/image.sh builds it): %w", BaseImage, err)
	}
	probe, err := os.ReadFile(filepath.Join(dir, "probe"))
	if err != nil {
		return err
	}
	h := sha256.New()
	h.Write(probe)
	h.Write([]byte(base))
	sum := hex.EncodeToString(h.Sum(nil))
	if have, _ := output("docker", "image", "inspect", "--format", "{{ index .Config.Labels \""+labelSum+"\" }}", ImageName); have == sum {
		return nil
	}
	dockerfile := fmt.Sprintf("FROM %s\nCOPY probe %s\nLABEL %s=%s\n", BaseImage, Path, labelSum, sum)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	// The classic builder resolves FROM in the local image store and
	// never contacts a registry for an image it has.
	cmd := exec.Command("docker", "build", "-q", "-t", ImageName, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build: %v\n%s", err, out)
	}
	return nil
}

func moduleRoot() (string, error) {
	gomod, err := output("go", "env", "GOMOD")
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the module (go env GOMOD = %q): %v", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func output(name string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Result is one line the probe prints: an attack (must not succeed), a
// sanity check (must succeed) or a fact (a value to compare).
type Result struct {
	Attack    string `json:"attack,omitempty"`
	Sanity    string `json:"sanity,omitempty"`
	Fact      string `json:"fact,omitempty"`
	Succeeded bool   `json:"succeeded"`
	Detail    string `json:"detail"`
}

// Report is everything one probe run printed.
type Report struct {
	Results []Result
}

// Parse decodes the probe's output; a line that is not a result fails the
// test (the probe crashed or something else wrote to its stdout).
func Parse(tb testing.TB, out []byte) Report {
	tb.Helper()
	var r Report
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var res Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			tb.Fatalf("probe printed %q, not a result: %v\nfull output:\n%s", sc.Text(), err, out)
		}
		r.Results = append(r.Results, res)
	}
	if len(r.Results) == 0 {
		tb.Fatalf("probe printed no results:\n%s", out)
	}
	return r
}

// Fact returns the detail of the named fact, failing the test if absent.
func (r Report) Fact(tb testing.TB, name string) string {
	tb.Helper()
	for _, res := range r.Results {
		if res.Fact == name {
			return res.Detail
		}
	}
	tb.Fatalf("probe reported no fact %q", name)
	return ""
}

// Check fails the test for every attack that succeeded and every sanity
// check that did not, naming each, and reports how many attacks it saw.
func (r Report) Check(tb testing.TB) (attacks int) {
	tb.Helper()
	for _, res := range r.Results {
		switch {
		case res.Attack != "":
			attacks++
			if res.Succeeded {
				tb.Errorf("attack succeeded: %s (%s)", res.Attack, res.Detail)
			}
		case res.Sanity != "" && !res.Succeeded:
			tb.Errorf("sanity check failed: %s (%s)", res.Sanity, res.Detail)
		}
	}
	return attacks
}

// Run runs the probe with args inside the running container id (docker
// exec, as the container's user) and returns what it reported.
func Run(tb testing.TB, id string, args ...string) Report {
	tb.Helper()
	cmd := exec.Command("docker", append([]string{"exec", id, Path}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("docker exec %s %s: %v\nstdout:\n%s\nstderr:\n%s", id, Path, err, out, stderr.String())
	}
	return Parse(tb, out)
}
