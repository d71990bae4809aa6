package e2e_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host/hosttest"
	"github.com/molecule-ai/molecule-host/internal/probetest"
)

// TestWorkspaceCannotReachHost runs a probe inside a Docker workspace of a
// real host that also serves a CP workspace through a real
// molecule-cp-local, and tries what workspace code would try to take the
// host over: sniff loopback traffic with raw sockets, connect to the host's
// API, to the control plane and to the CP workspace's agent, call the admin
// routes over its host socket with the admin token, reach another Docker
// workspace's agent socket, write outside its volumes. Every attempt must
// fail, and no secret of the host or the control plane may be in the
// container's environment.
func TestWorkspaceCannotReachHost(t *testing.T) {
	needDocker(t)
	image := probetest.Image(t)
	cp := startCPLocal(t, "")
	hosttest.Build(t, "molecule-backend-docker", "molecule-backend-cp")
	h := hosttest.Start(t, hosttest.Options{
		Plugins: []string{"molecule-backend-docker", "molecule-backend-cp"},
		BackendConfig: map[string]map[string]string{
			"docker": {},
			"cp":     {"url": cp.url, "shared_secret": cp.secret, "admin_token": cp.admin},
		},
		// Three workspaces boot on a loaded 2-core machine: give each
		// attempt the production timeout, not the 3 s the rescue tests use.
		Env: map[string]string{"MOLECULE_RUNTIME_IMAGES": "default=molecule-workspace:dev,probe=" + image,
			"MOLECULE_OPERATION_RESCUE": "60s"},
	})
	echo := map[string]string{"runtime.json": `{"runtime":"echo"}`}
	create := func(name, backend, runtime string) string {
		var a accepted
		if st := h.Do("POST", "/workspaces", map[string]any{"name": name, "backend": backend, "runtime": runtime, "config": echo}, &a); st != 202 {
			t.Fatalf("create %s: %d", name, st)
		}
		id := a.Workspace.ID
		removeDockerResourcesAtCleanup(t, id)
		t.Cleanup(func() { h.Do("DELETE", "/workspaces/"+id, nil, nil) })
		return id
	}
	// One at a time: the test is about isolation, not boot concurrency.
	attacker := create("attacker", "docker", "probe")
	waitStatus(t, h, attacker, "online", 90*time.Second)
	neighbour := create("neighbour", "docker", "default")
	waitStatus(t, h, neighbour, "online", 90*time.Second)
	cpWorkspace := create("cp-neighbour", "cp", "default")
	cpWS := waitStatus(t, h, cpWorkspace, "online", 90*time.Second)

	hostAPI := mustHostPort(t, h.URL)
	cpAPI := mustHostPort(t, cp.url)
	cpAgent := mustHostPort(t, cpWS.URL)
	neighbourSocket := filepath.Join(h.DataDir, "agents", neighbour, agentapi.AgentSocket)
	args := []string{"-token", h.Token,
		"-tcp", hostAPI, "-tcp", cpAPI, "-tcp", cpAgent,
		"-get", "/workspaces", "-get", "/workspaces/" + neighbour, "-get", "/backends", "-get", "/orphans",
		"-get", "/healthz", "-get", "/workspaces/" + neighbour + "/boot-log",
		"-sock", neighbourSocket, "-sock", "/var/run/docker.sock",
	}
	containers := dockerLines(t, "ps", "-q", "--filter", "label=molecule.workspace-id="+attacker)
	if len(containers) != 1 {
		t.Fatalf("attacker workspace has containers %v, want one running", containers)
	}
	report := probetest.Run(t, containers[0], args...)
	if n := report.Check(t); n < 12 {
		t.Fatalf("the probe reported %d attacks, want at least 12 (raw sockets, 3 TCP, 6 routes, 2 sockets)", n)
	}
	if uid := report.Fact(t, "uid"); uid != "65532" {
		t.Errorf("workspace code runs as uid %s, want 65532", uid)
	}

	env := strings.Join(dockerLines(t, "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", containers[0]), "\n")
	for name, secret := range map[string]string{"admin token": h.Token, "CP shared secret": cp.secret, "CP admin token": cp.admin} {
		if strings.Contains(env, secret) {
			t.Errorf("the workspace's environment holds the %s", name)
		}
	}
	if strings.Contains(env, "MOLECULE_HOST_URL=http") {
		t.Errorf("the workspace was given a network URL for the host:\n%s", env)
	}
}

func mustHostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Port() == "" {
		t.Fatalf("%q is not a URL with a host and port: %v", raw, err)
	}
	return u.Host
}
