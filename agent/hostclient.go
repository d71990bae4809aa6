package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// hostClient makes the agent's registry calls. Every call carries the
// agent's bearer token.
type hostClient struct {
	base, token string
	hc          *http.Client
	retryBase   time.Duration
	retryMax    time.Duration
	log         *bootLog
}

// newHostClient returns the client for cfg's host: HTTP to cfg.HostURL, or,
// when it is "unix:///path", HTTP over that unix socket.
func newHostClient(cfg Config, log *bootLog) *hostClient {
	c := &hostClient{
		base: cfg.HostURL, token: cfg.Token, hc: &http.Client{},
		retryBase: cfg.RetryBase, retryMax: cfg.RetryMax, log: log,
	}
	if path, ok := strings.CutPrefix(cfg.HostURL, agentapi.UnixURLScheme); ok {
		var d net.Dialer
		c.base = "http://molecule-host"
		c.hc.Transport = &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", path)
			},
		}
	}
	// The host never redirects agent calls; following one would send the
	// token elsewhere.
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// permanentError is a host answer that retrying cannot change (a 4xx).
type permanentError struct{ status int }

func (e *permanentError) Error() string { return fmt.Sprintf("host answered %d", e.status) }

// post makes one attempt.
func (c *hostClient) post(ctx context.Context, path string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return &permanentError{status: 0}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return &permanentError{status: 0}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout:
		return fmt.Errorf("%w: %s", &permanentError{status: resp.StatusCode}, bytes.TrimSpace(msg))
	}
	return fmt.Errorf("host answered %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
}

// deliver posts body until the host accepts it, the host rejects it for
// good (4xx: logged, not fatal), or ctx ends. It reports whether the host
// accepted it.
func (c *hostClient) deliver(ctx context.Context, what, path string, body any) bool {
	wait := c.retryBase
	for attempt := 1; ; attempt++ {
		err := c.post(ctx, path, body)
		if err == nil {
			c.log.printf("%s: delivered to host (attempt %d)", what, attempt)
			return true
		}
		var pe *permanentError
		if errors.As(err, &pe) {
			c.log.printf("%s: host rejected it, not retrying: %v", what, err)
			return false
		}
		c.log.printf("%s: host unreachable (attempt %d), retrying in %s: %v", what, attempt, wait, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(wait*2, c.retryMax)
	}
}
