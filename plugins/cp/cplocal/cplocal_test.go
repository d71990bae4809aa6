package cplocal

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/molecule-ai/molecule-host/internal/plugintest"
)

func mustServer(tb testing.TB, dataDir string, pool string) *Server {
	tb.Helper()
	cfg := Config{DataDir: dataDir, SharedSecret: "s", AdminToken: "a", AgentPath: "/bin/true"}
	if pool != "" {
		cfg.AddressPool = netip.MustParsePrefix(pool)
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { s.Close(true) })
	return s
}

// mustDataDir returns a new data dir that instance users can reach (a
// test's TempDir sits in a directory only its owner may search).
func mustDataDir(tb testing.TB) string {
	tb.Helper()
	return plugintest.TraversableTempDir(tb, "cp-data-")
}

func TestConfigErrorsNameWhatIsWrong(t *testing.T) {
	_, err := New(Config{AgentPath: "/bin/true", AddressPool: netip.MustParsePrefix("10.0.0.0/24")})
	for _, want := range []string{"data dir", "shared secret", "admin token", "10.0.0.0/24"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
}

func TestRestartReportsDeadInstancesStopped(t *testing.T) {
	dir := mustDataDir(t)
	st := stateFile{Version: stateVersion, Instances: []*Instance{
		// pid is alive but it is this test, not the instance's agent.
		{InstanceID: "i-0000000000000000a", WorkspaceID: "ws-1", OrgID: "local", State: StateRunning, PrivateIP: "127.0.1.1", PID: os.Getpid()},
	}}
	raw, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustServer(t, dir, "")
	got := s.Instances()
	if len(got) != 1 || got[0].State != StateStopped || !strings.Contains(got[0].StateReason, "not running") {
		t.Fatalf("instances = %+v, want ws-1 stopped with a reason", got)
	}
}

func TestAddressPoolExhaustedIs429(t *testing.T) {
	s := mustServer(t, mustDataDir(t), "127.0.2.0/30") // two usable addresses
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	var codes []int
	for _, ws := range []string{"w1", "w2", "w3", "w1"} {
		body := `{"org_id":"local","workspace_id":"` + ws + `","runtime":"default","user_data":"{}"}`
		req, _ := http.NewRequest("POST", ts.URL+"/cp/workspaces/provision", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{201, 201, 429, 200}, codes); diff != "" {
		t.Fatalf("provision statuses (-want +got):\n%s", diff)
	}
}

func TestTailOffset(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.log")
	if err := os.WriteFile(p, []byte("one\ntwo\nthree\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]int64{1: 8, 2: 4, 3: 0, 9: 0} {
		if got := tailOffset(p, n); got != want {
			t.Errorf("tailOffset(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestFaultsJSON(t *testing.T) {
	var f Faults
	if err := json.Unmarshal([]byte(`{"latency":"250ms","error_rate":0.25,"fail_boot":"0.5"}`), &f); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Faults{Latency: 250 * time.Millisecond, ErrorRate: 0.25, FailBoot: "0.5"}, f); diff != "" {
		t.Fatalf("faults (-want +got):\n%s", diff)
	}
	if rate, ok := f.failBootRate(); !ok || rate != 0.5 {
		t.Fatalf("fail-boot rate = %v %v", rate, ok)
	}
	if err := (Faults{ErrorRate: 2}).check(); err == nil {
		t.Fatal("error rate 2 accepted")
	}
	if err := json.Unmarshal([]byte(`{"latency":"soon"}`), &f); err == nil || !strings.Contains(err.Error(), "latency") {
		t.Fatalf("bad latency: %v", err)
	}
}

// TestInstanceUsersRefused: uids a user or group of the machine has, a
// reversed range, or a range together with one shared user are refused
// with a message naming what is wrong.
func TestInstanceUsersRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: instance users are resolved only when the control plane runs as root")
	}
	for name, c := range map[string]struct {
		user string
		uids UIDRange
		want string
	}{
		"user and uids":   {"nobody", UIDRange{First: 200000, Last: 200010}, "exclude each other"},
		"a user's uid":    {"", UIDRange{First: 65534, Last: 65534}, "hold id 65534"},
		"reversed range":  {"", UIDRange{First: 300000, Last: 200000}, "first to last"},
		"root in range":   {"", UIDRange{First: 0, Last: 10}, "above 0"},
		"root as the one": {"0:0", UIDRange{}, "must not be root"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(Config{DataDir: mustDataDir(t), SharedSecret: "s", AdminToken: "a", AgentPath: "/bin/true", InstanceUser: c.user, InstanceUIDs: c.uids})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error naming %q", err, c.want)
			}
		})
	}
}
