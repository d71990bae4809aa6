package bench_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

const registryToken = "bench-agent-token"

// registry plays the host's registry for the docker run baseline: it
// serves the agent routes on a host socket in an agent directory made for
// each container, as the host does, accepts every agent call and reports
// the workspace id of each register call on registered.
type registry struct {
	handler    http.Handler
	root       string
	registered chan string
}

func startRegistry(b *testing.B) *registry {
	root, err := os.MkdirTemp("", "mhbench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	r := &registry{root: root, registered: make(chan string, 16)}
	r.handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
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
	})
	return r
}

// agentDir makes an agent directory for id with the registry serving its
// host socket; stop closes it.
func (r *registry) agentDir(b *testing.B, id string) (dir string, stop func()) {
	dir = filepath.Join(r.root, id)
	if err := os.Mkdir(dir, 0o777); err != nil || os.Chmod(dir, 0o777) != nil {
		b.Fatalf("agent directory %s: %v", dir, err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, agentapi.HostSocket))
	if err != nil {
		b.Fatal(err)
	}
	_ = os.Chmod(filepath.Join(dir, agentapi.HostSocket), 0o666)
	srv := &http.Server{Handler: r.handler}
	go func() { _ = srv.Serve(ln) }()
	return dir, func() { _ = srv.Close() }
}

// dockerRunToRegister runs the workspace image with `docker run`, isolated
// as the Docker backend isolates a workspace (no network, unprivileged
// user, no capabilities, read-only root, the agent directory mounted) and
// its agent pointed at reg's host socket, and times it until the agent's
// register call arrives; then it removes the container, untimed.
func dockerRunToRegister(b *testing.B, reg *registry, run string, i int) time.Duration {
	b.Helper()
	id := fmt.Sprintf("bench-%s-bare-%d", run, i)
	name := "molecule-bench-" + strings.TrimPrefix(id, "bench-")
	dir, stop := reg.agentDir(b, fmt.Sprintf("bare-%d", i))
	defer stop()
	args := []string{"run", "-d", "--name", name, "--label", "molecule.bench=" + run,
		"--network", "none", "--user", "65532:65532", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
		"--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=128m,mode=1777", "--pids-limit", "512",
		"-v", dir + ":" + agentapi.AgentDirInWorkspace}
	for k, v := range map[string]string{
		agentapi.EnvWorkspaceID: id, agentapi.EnvToken: registryToken, agentapi.EnvRuntime: "echo",
		agentapi.EnvHostURL:    agentapi.UnixURLScheme + agentapi.AgentDirInWorkspace + "/" + agentapi.HostSocket,
		agentapi.EnvListenAddr: agentapi.UnixAddrPrefix + agentapi.AgentDirInWorkspace + "/" + agentapi.AgentSocket,
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
