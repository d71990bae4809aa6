package docker_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/plugins/docker"
	"github.com/molecule-ai/molecule-host/sdk"
)

// countingProxy forwards a unix socket to the real engine and records each
// request's method and path (API version prefix stripped).
type countingProxy struct {
	mu    sync.Mutex
	calls []string
	sock  string
}

func mustCountingProxy(tb testing.TB) *countingProxy {
	tb.Helper()
	p := &countingProxy{sock: filepath.Join(tb.TempDir(), "docker.sock")}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		tb.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: "http", Host: "docker"}) },
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", "/var/run/docker.sock")
		}},
	}
	version := regexp.MustCompile(`^/v[0-9.]+`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.calls = append(p.calls, r.Method+" "+version.ReplaceAllString(r.URL.Path, ""))
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return p
}

func (p *countingProxy) reset() {
	p.mu.Lock()
	p.calls = nil
	p.mu.Unlock()
}

func (p *countingProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

func TestStatusBatchOneListCall(t *testing.T) {
	proxy := mustCountingProxy(t)
	b := mustBackend(t, map[string]string{"host": "unix://" + proxy.sock})
	running, stopped, missing := newWorkspaceID(t), newWorkspaceID(t), newWorkspaceID(t)
	mustStart(t, b, startRequest(running, mustAgentDir(t), nil))
	mustStart(t, b, startRequest(stopped, mustAgentDir(t), nil))
	if _, err := b.Stop(context.Background(), &sdk.StopRequest{WorkspaceID: stopped}); err != nil {
		t.Fatal(err)
	}
	proxy.reset()
	resp, err := b.Status(context.Background(), &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{
		{WorkspaceID: running}, {WorkspaceID: stopped}, {WorkspaceID: missing},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.RunState{sdk.RunStateRunning, sdk.RunStateStopped, sdk.RunStateMissing}
	for i, st := range resp.Statuses {
		if st.State != want[i] || st.WorkspaceID != []string{running, stopped, missing}[i] {
			t.Errorf("status[%d] = %+v, want %s", i, st, want[i])
		}
	}
	if len(resp.Statuses) != 3 || resp.Statuses[0].Address != "" {
		t.Fatalf("statuses = %+v, want 3 and no address (the agent is reached at its socket)", resp.Statuses)
	}
	var lists int
	for _, c := range proxy.seen() {
		if c == "GET /containers/json" {
			lists++
		} else if c != "HEAD /_ping" && c != "GET /_ping" {
			t.Errorf("Status made call %q; want only one container list", c)
		}
	}
	if lists != 1 {
		t.Fatalf("Status made %d container list calls (%v), want 1", lists, proxy.seen())
	}
}

// verbs calls every verb once and returns each one's error by name.
func verbs(b *docker.Backend) map[string]error {
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["start"] = b.Start(ctx, startRequest("t-unreach", "/nonexistent/agent-dir", nil))
	_, errs["stop"] = b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "t-unreach"})
	_, errs["destroy"] = b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: "t-unreach", RemoveVolumes: true})
	_, errs["status"] = b.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: "t-unreach"}}})
	_, errs["list_managed"] = b.ListManaged(ctx, &sdk.ListManagedRequest{})
	errs["logs"] = b.Logs(ctx, &sdk.LogsRequest{WorkspaceID: "t-unreach"}, func(*sdk.LogChunk) error { return nil })
	return errs
}

func TestUnreachableDaemonIsTransient(t *testing.T) {
	b := mustBackend(t, map[string]string{"host": "unix:///nonexistent.sock", "call_timeout": "3s"})
	began := time.Now()
	for verb, err := range verbs(b) {
		if !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "Docker daemon at unix:///nonexistent.sock is unreachable") {
			t.Errorf("%s = %v, want transient naming the daemon", verb, err)
		}
	}
	if d := time.Since(began); d > 6*3*time.Second {
		t.Fatalf("six verbs took %s against an unreachable daemon, want each within the 3s call timeout", d)
	}
}

func TestNotConfigured(t *testing.T) {
	for verb, err := range verbs(docker.New()) {
		var se *sdk.Error
		if !sdk.IsKind(err, sdk.KindConflict) || !strings.Contains(err.Error(), sdk.NotConfiguredMessage) {
			t.Errorf("%s before Configure = %v, want conflict %q", verb, err, sdk.NotConfiguredMessage)
		} else if se, _ = err.(*sdk.Error); se == nil || se.Op != verb {
			t.Errorf("%s before Configure: op = %v, want %s", verb, se, verb)
		}
	}
}

func TestConfigureValidates(t *testing.T) {
	tests := map[string]struct {
		cfg         map[string]string
		wantField   string
		wantMessage string
	}{
		"defaults":         {cfg: nil},
		"all set":          {cfg: map[string]string{"host": "unix:///var/run/docker.sock", "network": "molecule-net", "user": "1000:1000", "call_timeout": "5s"}},
		"network none":     {cfg: map[string]string{"network": "none"}},
		"host network":     {cfg: map[string]string{"network": "host"}, wantField: "config.network", wantMessage: "reach the host's loopback services and sniff"},
		"root user":        {cfg: map[string]string{"user": "0:0"}, wantField: "config.user", wantMessage: "never run as root"},
		"root group":       {cfg: map[string]string{"user": "1000:0"}, wantField: "config.user"},
		"user by name":     {cfg: map[string]string{"user": "root"}, wantField: "config.user"},
		"user without gid": {cfg: map[string]string{"user": "1000"}, wantField: "config.user"},
		"bad host":         {cfg: map[string]string{"host": "ftp//nope"}, wantField: "config.host"},
		"default bridge":   {cfg: map[string]string{"network": "bridge"}, wantField: "config.network"},
		"bad network name": {cfg: map[string]string{"network": "no spaces"}, wantField: "config.network"},
		"bad timeout":      {cfg: map[string]string{"call_timeout": "soon"}, wantField: "config.call_timeout"},
		"negative timeout": {cfg: map[string]string{"call_timeout": "-1s"}, wantField: "config.call_timeout"},
		"unknown key":      {cfg: map[string]string{"colour": "blue"}, wantField: "config.colour"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := docker.New().Configure(context.Background(), &sdk.ConfigureRequest{Config: tc.cfg})
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Configure = %v, want success", err)
				}
				return
			}
			se, ok := err.(*sdk.Error)
			if !ok || se.Kind != sdk.KindInvalid || len(se.Fields) != 1 || se.Fields[0].Path != tc.wantField || !strings.Contains(se.Fields[0].Message, tc.wantMessage) {
				t.Fatalf("Configure = %v, want invalid with field %s saying %q", err, tc.wantField, tc.wantMessage)
			}
		})
	}
}

func TestStartRejectsBadRequest(t *testing.T) {
	b := mustBackend(t, nil)
	req := startRequest("bad id/..", "relative/agent-dir", map[string][]byte{"../escape": nil})
	req.Tier, req.Image, req.AgentToken = 9, "", ""
	_, err := b.Start(context.Background(), req)
	se, ok := err.(*sdk.Error)
	if !ok || se.Kind != sdk.KindInvalid {
		t.Fatalf("Start = %v, want invalid", err)
	}
	var paths []string
	for _, f := range se.Fields {
		paths = append(paths, f.Path)
	}
	if got := strings.Join(paths, ","); got != "agent_dir,agent_token,config_files.../escape,image,tier,workspace_id" {
		t.Fatalf("fields = %s", got)
	}
	for _, f := range se.Fields {
		if f.Path == "agent_dir" && !strings.Contains(f.Message, "no network path to the host") {
			t.Errorf("agent_dir message = %q, want it to say why", f.Message)
		}
	}
}

func TestManifest(t *testing.T) {
	b := docker.New()
	m, err := b.Manifest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.Capabilities = sdk.CapabilitiesOf(b)
	if err := m.Validate(); err != nil {
		t.Fatalf("manifest invalid: %v", err)
	}
	for id := range sdk.FeatureNeeds {
		if f, ok := m.Features[id]; !ok || f.Note == "" {
			t.Errorf("feature %s not declared with a note", id)
		}
	}
	if m.Features[sdk.FeatureConfigDelivery].Attributes[sdk.AttrConfigDelivery] != "sync" {
		t.Error("config delivery is not declared sync")
	}
	if !sdk.HasCapability(m.Capabilities, sdk.CapLogs) {
		t.Error("logs capability missing")
	}
	defaults := map[string]string{}
	for _, f := range m.Config {
		defaults[f.Name] = f.Default
	}
	if defaults["network"] != "none" || defaults["user"] != "65532:65532" {
		t.Errorf("config defaults = %v, want network none and user 65532:65532", defaults)
	}
}

func TestHungDaemonTimesOut(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "hung.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // accept and never answer; close what was accepted at the end
		defer close(done)
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	b := mustBackend(t, map[string]string{"host": "unix://" + sock, "call_timeout": "300ms"})
	began := time.Now()
	_, err = b.Status(context.Background(), &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: "x"}}})
	if !sdk.IsKind(err, sdk.KindTransient) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Status against a hung daemon = %v, want transient", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("Status took %s, want about the 300ms call timeout", d)
	}
}
