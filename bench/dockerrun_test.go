package bench_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

const registryToken = "bench-agent-token"

// registry is a loopback HTTP server playing the host's registry for the
// docker run baseline: it accepts every agent call and reports the
// workspace id of each register call on registered.
type registry struct {
	url        string
	registered chan string
}

func startRegistry(b *testing.B) *registry {
	r := &registry{registered: make(chan string, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer "+registryToken {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		if req.Method == http.MethodPost && req.URL.Path == agentapi.PathRegister {
			var body agentapi.RegisterRequest
			if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.URL == "" {
				http.Error(w, "bad register body", http.StatusBadRequest)
				return
			}
			select {
			case r.registered <- body.WorkspaceID:
			default: // nobody waits for it: a late duplicate
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	b.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// dockerRunToRegister runs the workspace image with `docker run` on the
// host network, its agent pointed at reg, and times it until the agent's
// register call arrives; then it removes the container, untimed.
func dockerRunToRegister(b *testing.B, reg *registry, run string, i int) time.Duration {
	b.Helper()
	id := fmt.Sprintf("bench-%s-bare-%d", run, i)
	name := "molecule-bench-" + strings.TrimPrefix(id, "bench-")
	args := []string{"run", "-d", "--name", name, "--label", "molecule.bench=" + run, "--network", "host"}
	for k, v := range map[string]string{
		agentapi.EnvWorkspaceID: id, agentapi.EnvHostURL: reg.url, agentapi.EnvToken: registryToken,
		agentapi.EnvListenAddr: "127.0.0.1:0", agentapi.EnvRuntime: "echo",
	} {
		args = append(args, "-e", k+"="+v)
	}
	t0 := time.Now()
	if out, err := exec.Command("docker", append(args, workspaceImage)...).CombinedOutput(); err != nil {
		b.Fatalf("docker run %s: %v\n%s", workspaceImage, err, out)
	}
	timeout := time.NewTimer(dockerDeadline)
	defer timeout.Stop()
	for got := ""; got != id; {
		select {
		case got = <-reg.registered:
		case <-timeout.C:
			logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
			b.Fatalf("the agent of container %s did not register within %s; its output:\n%s", name, dockerDeadline, logs)
		}
	}
	d := time.Since(t0)
	if out, err := exec.Command("docker", "rm", "-f", name).CombinedOutput(); err != nil {
		b.Fatalf("docker rm -f %s: %v\n%s", name, err, out)
	}
	return d
}

// removeLabeled force-removes every container and volume with label.
func removeLabeled(tb testing.TB, label string) {
	for _, c := range dockerIDs(tb, "ps", "-aq", "--filter", "label="+label) {
		_ = exec.Command("docker", "rm", "-f", c).Run()
	}
	for _, v := range dockerIDs(tb, "volume", "ls", "-q", "--filter", "label="+label) {
		_ = exec.Command("docker", "volume", "rm", "-f", v).Run()
	}
}

// dockerIDs runs a docker listing command and returns its non-empty lines.
func dockerIDs(tb testing.TB, args ...string) []string {
	tb.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Fields(string(out))
}
