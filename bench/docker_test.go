package bench_test

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

const (
	workspaceImage = "molecule-workspace:dev"
	dockerDeadline = 60 * time.Second
)

// BenchmarkDockerCreateToOnline measures, on the real Docker engine, a
// molecule-host's POST /workspaces -> status online for a Docker workspace,
// against `docker run` of the same image whose agent boots against a tiny
// loopback server playing the host's registry (docker run -> the agent's
// register call arrives). One of each per iteration, alternating which goes
// first, after one untimed warm-up pair; every container is removed. Target
// (DESIGN.md section 9): ours/docker-run p50 <= 1.5. Each iteration takes
// seconds: run it with a count such as -benchtime 5x.
func BenchmarkDockerCreateToOnline(b *testing.B) {
	mustDocker(b)
	hosttest.Build(b, "molecule-backend-docker")
	// The host runs as in production (info logging, default heartbeat),
	// not with the tests' debug logging.
	h := hosttest.Start(b, hosttest.Options{Plugins: []string{"molecule-backend-docker"},
		Env: map[string]string{"MOLECULE_LOG_LEVEL": "info", "MOLECULE_HEARTBEAT_INTERVAL": "10s", "MOLECULE_LIVENESS_TTL": "30s"}})
	reg := startRegistry(b)
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	b.Cleanup(func() { removeLabeled(b, "molecule.bench="+run) })
	ours := func(i int) time.Duration { return oursCreateToOnline(b, h, fmt.Sprintf("bench-%s-%d", run, i)) }
	bare := func(i int) time.Duration { return dockerRunToRegister(b, reg, run, i) }

	ours(-1) // warm-up: page cache, image layers, the host's first job
	bare(-1)
	var bareLat, oursLat []time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			bareLat = append(bareLat, bare(i))
			oursLat = append(oursLat, ours(i))
		} else {
			oursLat = append(oursLat, ours(i))
			bareLat = append(bareLat, bare(i))
		}
	}
	b.StopTimer()
	pb, po := p50(bareLat), p50(oursLat)
	b.ReportMetric(ms(pb), "docker-run-p50-ms")
	b.ReportMetric(ms(po), "ours-p50-ms")
	b.ReportMetric(float64(po)/float64(pb), "ours/docker-run-p50")
	if testing.Verbose() {
		fmt.Printf("create-to-online p50 %v vs docker run to register p50 %v over %d rounds: ratio %.2f (target <= 1.5)\n",
			po, pb, len(oursLat), float64(po)/float64(pb))
	}
}

// mustDocker fails (never skips) when the Docker engine is unreachable or
// the workspace image is missing, which `make image` builds.
func mustDocker(tb testing.TB) {
	tb.Helper()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		tb.Fatalf("this benchmark needs a running Docker engine: docker info: %v\n%s", err, out)
	}
	if exec.Command("docker", "image", "inspect", workspaceImage).Run() != nil {
		root, err := hosttest.ModuleRoot()
		if err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(root, "scripts", "image.sh"))
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("building the workspace image %s: %v\n%s", workspaceImage, err, out)
		}
	}
}

// oursCreateToOnline creates a workspace through the host's API and times
// it to online; then it deletes the workspace, untimed, and checks that no
// container or volume of it is left.
func oursCreateToOnline(b *testing.B, h *hosttest.Host, name string) time.Duration {
	b.Helper()
	var a struct {
		Workspace struct{ ID string } `json:"workspace"`
	}
	t0 := time.Now()
	if st := h.Do("POST", "/workspaces", map[string]any{"name": name, "backend": "docker",
		"config": map[string]string{"runtime.json": `{"runtime":"echo"}`}}, &a); st != http.StatusAccepted || a.Workspace.ID == "" {
		b.Fatalf("create workspace %s: status %d", name, st)
	}
	id := a.Workspace.ID
	label := "molecule.workspace-id=" + id
	b.Cleanup(func() { removeLabeled(b, label) }) // a safety net: the delete below should leave nothing
	waitWorkspace(b, h, id, "online")
	d := time.Since(t0)

	if st := h.Do("DELETE", "/workspaces/"+id, nil, nil); st != http.StatusAccepted {
		b.Fatalf("delete workspace %s: status %d", id, st)
	}
	waitWorkspace(b, h, id, "removed")
	if left := dockerIDs(b, "ps", "-aq", "--filter", "label="+label); len(left) > 0 {
		b.Errorf("containers %v left after deleting workspace %s", left, id)
	}
	if left := dockerIDs(b, "volume", "ls", "-q", "--filter", "label="+label); len(left) > 0 {
		b.Errorf("volumes %v left after deleting workspace %s", left, id)
	}
	return d
}

// waitWorkspace holds a GET /workspaces/{id}?wait=want until the host
// reports the status (no client polling to load the 2 cores the
// measurement shares), failing on status failed and after dockerDeadline.
func waitWorkspace(b *testing.B, h *hosttest.Host, id, want string) {
	b.Helper()
	deadline := time.Now().Add(dockerDeadline)
	for {
		var ws struct {
			Status       string `json:"status"`
			StatusReason string `json:"status_reason"`
		}
		h.Do("GET", "/workspaces/"+id+"?wait="+want+"&timeout=10s", nil, &ws)
		switch {
		case ws.Status == want:
			return
		case ws.Status == "failed":
			b.Fatalf("workspace %s failed (%s) while waiting for %s", id, ws.StatusReason, want)
		case time.Now().After(deadline):
			b.Fatalf("workspace %s is %s (%s) after %s, want %s", id, ws.Status, ws.StatusReason, dockerDeadline, want)
		}
	}
}
