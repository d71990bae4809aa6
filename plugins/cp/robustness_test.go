package cp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/cp"
	"github.com/molecule-ai/molecule-host/plugins/cp/cplocal"
	"github.com/molecule-ai/molecule-host/sdk"
)

func TestFaultyCPStillOneInstance(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	// Faults set at runtime through the admin route, as a test harness would.
	setFaults(t, env.ts.URL, `{"latency":"20ms","error_rate":0.5}`)
	b, ctx := mustBackend(t, env.ts.URL, map[string]string{"max_retries": "10"}), context.Background()
	var ids []string
	for i := range 4 {
		r, err := b.Start(ctx, startRequest(host, "ws-faulty", filesA))
		if err != nil {
			t.Fatalf("start %d through a faulty CP: %v", i+1, err)
		}
		ids = append(ids, stateOf(t, r.State).InstanceID)
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("instance ids %v, want one instance", ids)
		}
	}
	if all := env.srv.Instances(); len(all) != 1 {
		t.Fatalf("CP holds %d instances, want 1: %+v", len(all), all)
	}
	waitFor(t, 20*time.Second, "the agent to boot", func() bool { return host.applied("ws-faulty", agentapi.ConfigHash(filesA)) >= 1 })
	if pids := agentPIDs(t, ids[0]); len(pids) != 1 {
		t.Fatalf("agent processes = %v, want exactly one", pids)
	}
	if _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "ws-faulty"}); err != nil {
		t.Fatalf("destroy through a faulty CP: %v", err)
	}
	if all := env.srv.Instances(); len(all) != 0 {
		t.Fatalf("CP holds %+v after destroy", all)
	}
}

func setFaults(tb testing.TB, url, body string) {
	tb.Helper()
	req, _ := http.NewRequest("POST", url+"/cp/admin/faults", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("set faults: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestCPRestartKeepsInstances(t *testing.T) {
	dataDir := mustDataDir(t)
	env, host := mustCP(t, dataDir, cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	r, err := b.Start(ctx, startRequest(host, "ws-survive", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	id := stateOf(t, r.State).InstanceID
	waitFor(t, 20*time.Second, "agent running", func() bool { return len(agentPIDs(t, id)) == 1 })
	pid := agentPIDs(t, id)[0]
	env.close(false) // the CP goes away; its instances do not

	env2 := mustCP(t, dataDir, cplocal.Faults{})
	b2 := mustBackend(t, env2.ts.URL, nil)
	lm, err := b2.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil || len(lm.Workspaces) != 1 || lm.Workspaces[0].WorkspaceID != "ws-survive" || lm.Workspaces[0].State != sdk.RunStateRunning {
		t.Fatalf("list after CP restart = %+v, %v; want ws-survive running", lm, err)
	}
	if pids := agentPIDs(t, id); len(pids) != 1 || pids[0] != pid {
		t.Fatalf("agent pids after CP restart = %v, want the same %d", pids, pid)
	}
	// The re-adopted instance is fully managed: stop really stops it.
	if _, err := b2.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-survive"}); err != nil {
		t.Fatalf("stop after CP restart: %v", err)
	}
	if pids := agentPIDs(t, id); len(pids) != 0 {
		t.Fatalf("agent still running after stop: %v", pids)
	}
}

func TestUnreachableCPIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	b := mustBackend(t, url, map[string]string{"max_retries": "3", "request_timeout": "1s"})
	begin := time.Now()
	_, err = b.Start(context.Background(), &sdk.StartRequest{WorkspaceID: "ws-x", Runtime: "default", Tier: 2})
	elapsed := time.Since(begin)
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindTransient || !strings.Contains(se.Message, "control plane at "+url+" is unreachable") {
		t.Fatalf("err = %v, want KindTransient naming the unreachable CP", err)
	}
	// 3 retries: backoff at most 100+200+400 ms (jitter only shortens).
	if elapsed > 2*time.Second {
		t.Fatalf("took %s, longer than the retry budget", elapsed)
	}
}

func TestNotConfigured(t *testing.T) {
	b, ctx := cp.New(), context.Background()
	calls := map[string]func() error{
		"start":        func() error { _, err := b.Start(ctx, &sdk.StartRequest{WorkspaceID: "w"}); return err },
		"stop":         func() error { _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "w"}); return err },
		"destroy":      func() error { _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "w"}); return err },
		"status":       func() error { _, err := b.Status(ctx, &sdk.StatusRequest{}); return err },
		"list_managed": func() error { _, err := b.ListManaged(ctx, &sdk.ListManagedRequest{}); return err },
		"logs":         func() error { return b.Logs(ctx, &sdk.LogsRequest{WorkspaceID: "w"}, nil) },
	}
	for op, call := range calls {
		t.Run(op, func(t *testing.T) {
			var se *sdk.Error
			err := call()
			if !errors.As(err, &se) || se.Kind != sdk.KindConflict || se.Message != sdk.NotConfiguredMessage || se.Op != op {
				t.Fatalf("err = %v, want sdk.NotConfigured(%q)", err, op)
			}
		})
	}
	m, err := b.Manifest(ctx)
	if err != nil {
		t.Fatalf("manifest before configure: %v", err)
	}
	m.Capabilities = sdk.CapabilitiesOf(b)
	if err := m.Validate(); err != nil {
		t.Fatalf("manifest invalid: %v", err)
	}
	for id := range sdk.FeatureNeeds {
		if _, ok := m.Features[id]; !ok {
			t.Errorf("feature %s not declared", id)
		}
	}
	if m.Features[sdk.FeatureConfigDelivery].Attributes[sdk.AttrConfigDelivery] != "async" {
		t.Errorf("config delivery attribute = %v, want async", m.Features[sdk.FeatureConfigDelivery].Attributes)
	}
}

func TestConfigureRejectsBadConfig(t *testing.T) {
	_, err := cp.New().Configure(context.Background(), &sdk.ConfigureRequest{Config: map[string]string{
		"url": "ftp://x", "request_timeout": "soon", "max_retries": "-1", "org_id": "Bad Org", "colour": "blue"}})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindInvalid {
		t.Fatalf("err = %v, want KindInvalid", err)
	}
	got := map[string]bool{}
	for _, f := range se.Fields {
		got[f.Path] = true
	}
	for _, want := range []string{"config.url", "config.shared_secret", "config.admin_token", "config.request_timeout", "config.max_retries", "config.org_id", "config.colour"} {
		if !got[want] {
			t.Errorf("no field error for %s in %+v", want, se.Fields)
		}
	}
}

func TestWrongSecretIs401(t *testing.T) {
	env := mustCP(t, "", cplocal.Faults{})
	for name, tc := range map[string]struct{ path, token string }{
		"wrong shared secret":     {"/cp/workspaces?org_id=local", "nope"},
		"no token":                {"/cp/workspaces?org_id=local", ""},
		"shared secret for admin": {"/cp/admin/faults", secret},
		"admin token for ws":      {"/cp/workspaces?org_id=local", adminToken},
	} {
		req, _ := http.NewRequest("GET", env.ts.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error struct{ Code string } }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body.Error.Code != "unauthorized" {
			t.Errorf("%s: %d %q, want 401 unauthorized", name, resp.StatusCode, body.Error.Code)
		}
	}
	b := mustBackend(t, env.ts.URL, map[string]string{"shared_secret": "wrong"})
	_, err := b.ListManaged(context.Background(), &sdk.ListManagedRequest{})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindInvalid || len(se.Fields) != 1 || se.Fields[0].Path != "config.shared_secret" {
		t.Fatalf("err = %v, want KindInvalid naming config.shared_secret", err)
	}
}

func TestBadProvisionIsInvalidWithCPMessage(t *testing.T) {
	env := mustCP(t, "", cplocal.Faults{})
	b := mustBackend(t, env.ts.URL, nil)
	_, err := b.Start(context.Background(), &sdk.StartRequest{WorkspaceID: "bad id with spaces", Runtime: "default"})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.KindInvalid || !strings.Contains(se.Message, "workspace_id") {
		t.Fatalf("err = %v, want KindInvalid carrying the CP's message about workspace_id", err)
	}
}

func TestLogsFollowEndsWhenStopped(t *testing.T) {
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	if _, err := b.Start(ctx, startRequest(host, "ws-logs", filesA)); err != nil {
		t.Fatalf("start: %v", err)
	}
	chunks := make(chan []byte, 100)
	done := make(chan error, 1)
	go func() {
		done <- b.Logs(ctx, &sdk.LogsRequest{WorkspaceID: "ws-logs", Follow: true}, func(c *sdk.LogChunk) error {
			chunks <- c.Data
			return nil
		})
	}()
	var seen bytes.Buffer
	deadline := time.After(20 * time.Second)
	for !strings.Contains(seen.String(), "config applied") {
		select {
		case c := <-chunks:
			seen.Write(c)
		case err := <-done:
			t.Fatalf("follow ended early (%v) with:\n%s", err, seen.String())
		case <-deadline:
			t.Fatalf("no 'config applied' line in the followed console:\n%s", seen.String())
		}
	}
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-logs"}); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end after the instance stopped")
	}
	var tail strings.Builder
	if err := b.Logs(ctx, &sdk.LogsRequest{WorkspaceID: "ws-logs", TailLines: 1}, func(c *sdk.LogChunk) error { tail.Write(c.Data); return nil }); err != nil {
		t.Fatalf("tail: %v", err)
	}
	if strings.Count(tail.String(), "\n") != 1 || !strings.Contains(tail.String(), "instance stopped") {
		t.Fatalf("tail 1 = %q, want the one last line", tail.String())
	}
	err := b.Logs(ctx, &sdk.LogsRequest{WorkspaceID: "ws-none"}, func(*sdk.LogChunk) error { return nil })
	if !sdk.IsKind(err, sdk.KindNotFound) {
		t.Fatalf("logs of an unknown workspace: %v, want KindNotFound", err)
	}
}
