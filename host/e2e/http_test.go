package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

func postJSON(t *testing.T, url string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("POST %s: status %d, %q: %v", url, resp.StatusCode, raw, err)
	}
}

// bootLog reads the workspace's boot log (not following).
func bootLog(t *testing.T, h *hosttest.Host, id string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", h.URL+"/workspaces/"+id+"/boot-log", nil)
	req.Header.Set("Authorization", "Bearer "+h.Token)
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("boot-log: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("boot-log: status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}
