package agent_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agent"
)

func mustStandaloneAgent(tb testing.TB) string {
	tb.Helper()
	a, _, _ := startAgent(tb, agent.Config{ConfigDir: mustConfigDir(tb, map[string][]byte{"x": []byte("y")})})
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		tb.Fatal("agent did not listen within 10s")
	}
	return "http://" + a.Addr()
}

func TestJSONRPC(t *testing.T) {
	url := mustStandaloneAgent(t)
	tests := map[string]struct {
		body     string
		wantCode int
	}{
		"bad json":        {`{nope`, agent.CodeParseError},
		"unknown method":  {`{"jsonrpc":"2.0","id":1,"method":"tasks/frobnicate"}`, agent.CodeMethodNotFound},
		"no version":      {`{"id":1,"method":"message/send"}`, agent.CodeInvalidRequest},
		"send no message": {`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}`, agent.CodeInvalidParams},
		"send no parts":   {`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[]}}}`, agent.CodeInvalidParams},
		"history no ctx":  {`{"jsonrpc":"2.0","id":1,"method":"message/history","params":{}}`, agent.CodeInvalidParams},
		"send ok":         {`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[{"kind":"text","text":"hi"}]}}}`, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var resp struct {
				Error *struct{ Code int } `json:"error"`
			}
			if err := json.Unmarshal([]byte(rpc(t, url, tc.body)), &resp); err != nil {
				t.Fatal(err)
			}
			got := 0
			if resp.Error != nil {
				got = resp.Error.Code
			}
			if got != tc.wantCode {
				t.Fatalf("error code = %d, want %d", got, tc.wantCode)
			}
		})
	}
}

func TestEchoHistoryPerContext(t *testing.T) {
	url := mustStandaloneAgent(t)
	for _, m := range []struct{ ctx, text string }{{"c1", "one"}, {"c2", "other"}, {"c1", "two"}} {
		rpc(t, url, `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","contextId":"`+m.ctx+`","parts":[{"kind":"text","text":"`+m.text+`"}]}}}`)
	}
	var resp struct{ Result agent.HistoryResult }
	json.Unmarshal([]byte(rpc(t, url, `{"jsonrpc":"2.0","id":2,"method":"message/history","params":{"contextId":"c1"}}`)), &resp)
	var got []string
	for _, m := range resp.Result.Messages {
		got = append(got, m.Role+":"+m.Text())
	}
	want := []string{"user:one", "agent:one", "user:two", "agent:two"}
	if len(got) != len(want) {
		t.Fatalf("history c1 = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("history c1 = %v, want %v", got, want)
		}
	}
}

func TestHealth(t *testing.T) {
	url := mustStandaloneAgent(t)
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]string
	json.NewDecoder(resp.Body).Decode(&h)
	if resp.StatusCode != 200 || h["status"] != "ok" || len(h["config_hash"]) != 64 {
		t.Fatalf("GET /health = %d %v", resp.StatusCode, h)
	}
}
