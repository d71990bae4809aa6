package cp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/cp/cplocal"
	"github.com/molecule-ai/molecule-host/sdk"
)

var filesA = map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`), "prompt.md": []byte("version A")}
var filesB = map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`), "notes/b.md": []byte("version B")}

func TestProvisionTwiceIsOneInstance(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	r1, err := b.Start(ctx, startRequest(host, "ws-twice", filesA))
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	r2, err := b.Start(ctx, startRequest(host, "ws-twice", filesA))
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	s1, s2 := stateOf(t, r1.State), stateOf(t, r2.State)
	if s1.InstanceID == "" || s1 != s2 {
		t.Fatalf("states differ or empty: %+v vs %+v", s1, s2)
	}
	if ip, err := netip.ParseAddr(r1.Address); err != nil || !poolFor(env.dataDir).Contains(ip) || r1.Address != s1.PrivateIP {
		t.Fatalf("address = %q, private ip %q; want one address of the pool", r1.Address, s1.PrivateIP)
	}
	waitFor(t, 20*time.Second, "config_applied with the sent hash", func() bool { return host.applied("ws-twice", agentapi.ConfigHash(filesA)) == 1 })
	lm, err := b.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil || len(lm.Workspaces) != 1 || lm.Workspaces[0].WorkspaceID != "ws-twice" {
		t.Fatalf("list managed = %+v, %v; want exactly ws-twice", lm, err)
	}
	if pids := agentPIDs(t, s1.InstanceID); len(pids) != 1 {
		t.Fatalf("agent processes for %s = %v, want exactly one", s1.InstanceID, pids)
	}
}

func TestStopStartKeepsInstance(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	hash := agentapi.ConfigHash(filesA)
	r1, err := b.Start(ctx, startRequest(host, "ws-stop", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	id := stateOf(t, r1.State).InstanceID
	waitFor(t, 20*time.Second, "first boot", func() bool { return host.applied("ws-stop", hash) == 1 })
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-stop", State: r1.State}); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if pids := agentPIDs(t, id); len(pids) != 0 {
		t.Fatalf("agent still running after stop: %v", pids)
	}
	st := mustStatus(t, b, "ws-stop")
	if st.State != sdk.RunStateStopped {
		t.Fatalf("status after stop = %+v, want stopped", st)
	}
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-stop"}); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	r2, err := b.Start(ctx, startRequest(host, "ws-stop", filesA))
	if err != nil {
		t.Fatalf("start again: %v", err)
	}
	if got := stateOf(t, r2.State).InstanceID; got != id {
		t.Fatalf("instance after stop/start = %s, want the same %s", got, id)
	}
	waitFor(t, 20*time.Second, "second boot", func() bool { return host.applied("ws-stop", hash) == 2 })
	if st := mustStatus(t, b, "ws-stop"); st.State != sdk.RunStateRunning {
		t.Fatalf("status after start = %+v, want running", st)
	}
}

func TestReprovisionWithNewConfigReboots(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	r1, err := b.Start(ctx, startRequest(host, "ws-reboot", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	waitFor(t, 20*time.Second, "config A applied", func() bool { return host.applied("ws-reboot", agentapi.ConfigHash(filesA)) == 1 })
	r2, err := b.Start(ctx, startRequest(host, "ws-reboot", filesB))
	if err != nil {
		t.Fatalf("start with config B: %v", err)
	}
	id := stateOf(t, r1.State).InstanceID
	if got := stateOf(t, r2.State).InstanceID; got != id {
		t.Fatalf("instance after new config = %s, want the same %s", got, id)
	}
	// Config B removes prompt.md: the hash matches only if the old file is gone.
	waitFor(t, 20*time.Second, "config B applied", func() bool { return host.applied("ws-reboot", agentapi.ConfigHash(filesB)) == 1 })
	if pids := agentPIDs(t, id); len(pids) != 1 {
		t.Fatalf("agent processes after reboot = %v, want exactly one", pids)
	}
	var console strings.Builder
	err = b.Logs(ctx, &sdk.LogsRequest{WorkspaceID: "ws-reboot"}, func(c *sdk.LogChunk) error { console.Write(c.Data); return nil })
	if err != nil || !strings.Contains(console.String(), "rebooting with new user data") || strings.Count(console.String(), "booting instance") != 2 {
		t.Fatalf("console (err %v) lacks the reboot:\n%s", err, console.String())
	}
}

func TestDestroyLeavesNothing(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	r, err := b.Start(ctx, startRequest(host, "ws-destroy", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	id := stateOf(t, r.State).InstanceID
	waitFor(t, 20*time.Second, "agent running", func() bool { return len(agentPIDs(t, id)) == 1 })
	for i := range 2 {
		if _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "ws-destroy", State: r.State, RemoveVolumes: true}); err != nil {
			t.Fatalf("destroy %d: %v", i+1, err)
		}
	}
	if pids := agentPIDs(t, id); len(pids) != 0 {
		t.Fatalf("agent processes after destroy: %v", pids)
	}
	if _, err := os.Stat(filepath.Join(env.dataDir, "instances", id)); !os.IsNotExist(err) {
		t.Fatalf("instance dir still there (stat err %v)", err)
	}
	if st := mustStatus(t, b, "ws-destroy"); st.State != sdk.RunStateMissing {
		t.Fatalf("status after destroy = %+v, want missing", st)
	}
	if lm, err := b.ListManaged(ctx, &sdk.ListManagedRequest{}); err != nil || len(lm.Workspaces) != 0 {
		t.Fatalf("list managed after destroy = %+v, %v; want empty", lm, err)
	}
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-destroy"}); err != nil {
		t.Fatalf("stop of a destroyed workspace: %v", err)
	}
}

func TestStatusIsOneBatch(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	if _, err := b.Start(ctx, startRequest(host, "ws-a", filesA)); err != nil {
		t.Fatalf("start: %v", err)
	}
	refs := []sdk.WorkspaceRef{{WorkspaceID: "ws-a"}, {WorkspaceID: "ws-none"}}
	for i := range 1500 {
		refs = append(refs, sdk.WorkspaceRef{WorkspaceID: "ws-x-" + strconv.Itoa(i)})
	}
	resp, err := b.Status(ctx, &sdk.StatusRequest{Workspaces: refs})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if len(resp.Statuses) != len(refs) || resp.Statuses[0].State != sdk.RunStateRunning || resp.Statuses[1].State != sdk.RunStateMissing {
		t.Fatalf("statuses: %d entries, first two %+v", len(resp.Statuses), resp.Statuses[:2])
	}
	for i, s := range resp.Statuses {
		if s.WorkspaceID != refs[i].WorkspaceID {
			t.Fatalf("status %d is for %s, want %s (request order)", i, s.WorkspaceID, refs[i].WorkspaceID)
		}
	}
}

func TestFailBootLeavesInstanceStopped(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{FailBoot: "broken"}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	req := startRequest(host, "ws-broken", filesA)
	req.Runtime = "broken"
	if _, err := b.Start(ctx, req); err != nil {
		t.Fatalf("start: %v", err)
	}
	var st sdk.WorkspaceStatus
	waitFor(t, 10*time.Second, "a failed boot", func() bool { st = mustStatus(t, b, "ws-broken"); return st.State == sdk.RunStateStopped })
	if !strings.Contains(st.Detail, "boot failed") {
		t.Fatalf("detail = %q, want the boot failure", st.Detail)
	}
}

func mustStatus(tb testing.TB, b interface {
	Status(context.Context, *sdk.StatusRequest) (*sdk.StatusResponse, error)
}, ws string) sdk.WorkspaceStatus {
	tb.Helper()
	resp, err := b.Status(context.Background(), &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: ws}}})
	if err != nil || len(resp.Statuses) != 1 {
		tb.Fatalf("status of %s: %+v, %v", ws, resp, err)
	}
	return resp.Statuses[0]
}

// TestStartReportsTheAgentEndpoint: Start answers the exact endpoint of the
// instance's agent, its private IP and the control plane's agent port, and
// the agent serves and registers there.
func TestStartReportsTheAgentEndpoint(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	r, err := b.Start(ctx, startRequest(host, "ws-endpoint", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	want := net.JoinHostPort(stateOf(t, r.State).PrivateIP, strconv.Itoa(cplocal.DefaultAgentPort))
	if r.Endpoint != want || r.Address != stateOf(t, r.State).PrivateIP {
		t.Fatalf("start answered endpoint %q, address %q; want endpoint %q and the private IP", r.Endpoint, r.Address, want)
	}
	waitFor(t, 20*time.Second, "the agent registered", func() bool { return host.registered("ws-endpoint") != "" })
	if got := host.registered("ws-endpoint"); got != "http://"+want {
		t.Errorf("the agent registered %q, want http://%s", got, want)
	}
	c, err := net.DialTimeout("tcp", r.Endpoint, 5*time.Second)
	if err != nil {
		t.Fatalf("nothing serves the endpoint %s: %v", r.Endpoint, err)
	}
	c.Close()
}

// TestStartEndpointNeedsAnAgentPort: the endpoint is the private IP and the
// agent port the control plane reports; a control plane that reports no
// port gets the address alone (the host then checks only the IP).
func TestStartEndpointNeedsAnAgentPort(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		answer                string
		wantAddress, wantEndp string
	}{
		"agent port":    {`{"instance_id":"i-1","workspace_id":"ws","state":"pending","private_ip":"127.0.1.9","agent_port":8000}`, "127.0.1.9", "127.0.1.9:8000"},
		"no agent port": {`{"instance_id":"i-1","workspace_id":"ws","state":"pending","private_ip":"127.0.1.9"}`, "127.0.1.9", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(c.answer))
			}))
			defer ts.Close()
			r, err := mustBackend(t, ts.URL, nil).Start(context.Background(), &sdk.StartRequest{WorkspaceID: "ws", Runtime: "default"})
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if r.Address != c.wantAddress || r.Endpoint != c.wantEndp {
				t.Fatalf("start answered address %q, endpoint %q; want %q, %q", r.Address, r.Endpoint, c.wantAddress, c.wantEndp)
			}
		})
	}
}
