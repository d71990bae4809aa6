package e2e_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host/hosttest"
)

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
