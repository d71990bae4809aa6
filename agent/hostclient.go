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
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// hostClient makes the agent's registry calls. Every call carries the
// agent's bearer token: the current one, which changes when the token is
// read from a file (Config.TokenFile) and the host refuses the old one.
type hostClient struct {
	base      string
	hc        *http.Client
	retryBase time.Duration
	retryMax  time.Duration
	log       *bootLog
	tokenFile string

	mu    sync.Mutex
	token string
	cred  string // A2A credential of token
	// renewals counts token changes; announced is the count the agent
	// last announced itself to the host with (see renewed).
	renewals, announced int
	// renewed, when set, is called after the host accepted a call made
	// with a renewed token: a new token means the host started the
	// workspace again and waits for this agent's register and boot
	// events. It runs on the calling goroutine (the outbox's).
	renewed func(ctx context.Context)
}

// newHostClient returns the client for cfg's host: HTTP to cfg.HostURL, or,
// when it is "unix:///path", HTTP over that unix socket.
func newHostClient(cfg Config, log *bootLog) *hostClient {
	c := &hostClient{
		base: cfg.HostURL, hc: &http.Client{}, tokenFile: cfg.TokenFile,
		retryBase: cfg.RetryBase, retryMax: cfg.RetryMax, log: log,
	}
	c.setToken(cfg.Token)
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

func (c *hostClient) setToken(tok string) {
	c.token = tok
	c.cred = ""
	if tok != "" {
		c.cred = agentapi.A2ACredential(agentapi.TokenDigest(tok))
	}
}

// current returns the current token and its A2A credential.
func (c *hostClient) current() (token, cred string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, c.cred
}

// reload reads the token file again and reports whether it holds a new
// token (false without a token file, or when it cannot be read).
func (c *hostClient) reload() bool {
	if c.tokenFile == "" {
		return false
	}
	tok, err := readTokenFile(c.tokenFile)
	if err != nil {
		c.log.printf("host refused the agent token; reading a new one failed: %v", err)
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok == c.token {
		return false
	}
	c.setToken(tok)
	c.renewals++
	c.log.printf("agent token renewed from %s", c.tokenFile)
	return true
}

// post makes one attempt, and when the host refuses the token (401) and
// the token file holds a new one, one more with it; after a call accepted
// with a renewed token it calls renewed first.
func (c *hostClient) post(ctx context.Context, path string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return &permanentError{status: 0}
	}
	err = c.attempt(ctx, path, raw)
	var pe *permanentError
	if errors.As(err, &pe) && pe.status == http.StatusUnauthorized && c.reload() {
		err = c.attempt(ctx, path, raw)
	}
	if err == nil {
		c.announce(ctx)
	}
	return err
}

// announce calls renewed once per token renewal.
func (c *hostClient) announce(ctx context.Context) {
	c.mu.Lock()
	due := c.renewals != c.announced && c.renewed != nil
	c.announced = c.renewals
	c.mu.Unlock()
	if due {
		c.renewed(ctx)
	}
}

// attempt posts raw once with the current token.
func (c *hostClient) attempt(ctx context.Context, path string, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return &permanentError{status: 0}
	}
	token, _ := c.current()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
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
