package docker_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/internal/probetest"
)

// TestWorkspaceIsolation starts a workspace of the probe image through the
// backend and runs the probe inside it, as workspace code would run: it
// must not sniff, reach a service on the host's loopback, get anything but
// the agent routes from the host socket, reach another workspace's agent
// socket or the Docker socket, or write outside /workspace and /tmp; and it
// must run as 65532 with no capabilities, no-new-privileges and the tier's
// pids limit. The container's settings are checked as the daemon reports
// them.
func TestWorkspaceIsolation(t *testing.T) {
	image := probetest.Image(t)
	cli := mustDocker(t)

	// The host's loopback service the workspace must not reach.
	hostSvc, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hostSvc.Close() })
	go func() {
		for {
			c, err := hostSvc.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	// The stand-in host on host.sock: the agent routes answer, nothing else.
	dir := mustAgentDir(t)
	mustServeUnix(t, filepath.Join(dir, agentapi.HostSocket), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/registry/") {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	// Another workspace's agent socket, live on the host.
	other := filepath.Join(mustAgentDir(t), agentapi.AgentSocket)
	mustServeUnix(t, other, http.NotFoundHandler())

	b := mustBackend(t, nil)
	id := newWorkspaceID(t)
	req := startRequest(id, dir, map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`)})
	req.Image, req.Tier = image, 2
	resp := mustStart(t, b, req)
	cid := containerOf(t, resp)

	rep := probetest.Run(t, cid,
		"-tcp", hostSvc.Addr().String(),
		"-get", "/workspaces", "-get", "/backends", "-get", "/orphans", "-get", "/admin/tokens",
		"-sock", other, "-sock", "/var/run/docker.sock", "-sock", "/run/docker.sock",
	)
	if n := rep.Check(t); n < 12 {
		t.Errorf("probe reported %d attacks, want at least 12", n)
	}
	facts := map[string]string{"uid": "65532", "gid": "65532", "CapEff": "0000000000000000", "CapPrm": "0000000000000000",
		"CapBnd": "0000000000000000", "NoNewPrivs": "1", "pids.max": "512"}
	for name, want := range facts {
		if got := rep.Fact(t, name); got != want {
			t.Errorf("probe fact %s = %q, want %q", name, got, want)
		}
	}
	if t.Failed() {
		for _, r := range rep.Results {
			t.Logf("probe: %+v", r)
		}
	}
	// The host's service was up all along: the probe failed for want of a path.
	c, err := net.Dial("tcp", hostSvc.Addr().String())
	if err != nil {
		t.Fatalf("the host service is not reachable from the host either: %v", err)
	}
	c.Close()

	ins, err := cli.ContainerInspect(context.Background(), cid, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc, cfg := ins.Container.HostConfig, ins.Container.Config
	if string(hc.NetworkMode) != "none" || !hc.ReadonlyRootfs || hc.Privileged || !slices.Equal(hc.CapDrop, []string{"ALL"}) ||
		len(hc.CapAdd) != 0 || !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges:true"}) ||
		hc.PidsLimit == nil || *hc.PidsLimit != 512 || cfg.User != "65532:65532" {
		t.Errorf("container: network %s readonly %v privileged %v capdrop %v capadd %v securityopt %v pids %v user %q; "+
			"want none, read-only, unprivileged, drop ALL, no-new-privileges, 512, 65532:65532",
			hc.NetworkMode, hc.ReadonlyRootfs, hc.Privileged, hc.CapDrop, hc.CapAdd, hc.SecurityOpt, hc.PidsLimit, cfg.User)
	}
	if got := hc.Tmpfs["/tmp"]; got != "rw,nosuid,nodev,size=128m,mode=1777" {
		t.Errorf("tmpfs /tmp = %q", got)
	}
	var mounts []string
	for _, m := range ins.Container.Mounts {
		what := m.Name
		if m.Type == mount.TypeBind {
			what = m.Source
		}
		mounts = append(mounts, m.Destination+" "+string(m.Type)+" "+what+" rw="+strconv.FormatBool(m.RW))
	}
	slices.Sort(mounts)
	want := []string{
		"/configs volume molecule-ws-" + id + "-config rw=true",
		agentapi.AgentDirInWorkspace + " bind " + dir + " rw=true",
		"/workspace volume molecule-ws-" + id + "-data rw=true",
	}
	if !slices.Equal(mounts, want) {
		t.Errorf("mounts = %q, want %q", mounts, want)
	}
}
