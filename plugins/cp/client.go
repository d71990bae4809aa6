package cp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Body caps of the control plane's answers.
const (
	maxAnswer     = 1 << 20  // one instance, an error, a batch of statuses
	maxListAnswer = 16 << 20 // every instance of an org
)

// Backoff bounds between attempts.
var (
	backoffBase = 100 * time.Millisecond
	backoffMax  = 2 * time.Second
)

// client talks to one control plane.
type client struct {
	cfg  config
	http *http.Client
}

func newClient(c config) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the CP address is used as configured, never through an environment proxy
	return &client{cfg: c, http: &http.Client{Transport: tr}}
}

// answer is one HTTP answer, body read up to its cap.
type answer struct {
	status int
	body   []byte
}

// call makes one API call, retrying transport errors, 429 and 5xx with
// exponential backoff and jitter, and decodes a 2xx body into out. Non-2xx
// answers become *sdk.Error: 400 Invalid, 401/403 Invalid naming the
// credential, 404 NotFound, 409 Conflict, 429 Quota, 5xx and transport
// Transient; a cancelled ctx gives an error wrapping ctx.Err().
func (c *client) call(ctx context.Context, op, method, path string, in, out any, limit int64) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return sdk.Wrap(sdk.KindInternal, op, err, "The request to the control plane could not be encoded.")
		}
	}
	var (
		a   answer
		err error
	)
	for attempt := 0; ; attempt++ {
		a, err = c.once(ctx, method, path, payload, limit)
		if ctx.Err() != nil {
			return &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: "The call to the control plane was cancelled.", Err: ctx.Err()}
		}
		retryable := err != nil || a.status == http.StatusTooManyRequests || a.status >= 500
		if !retryable || attempt >= c.cfg.maxRetries {
			break
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			return &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: "The call to the control plane was cancelled.", Err: werr}
		}
	}
	if err != nil {
		return &sdk.Error{Kind: sdk.KindTransient, Op: op, Err: err,
			Message: fmt.Sprintf("control plane at %s is unreachable: %v", c.cfg.base.Redacted(), err)}
	}
	if a.status/100 != 2 {
		return c.statusError(op, path, a)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return &sdk.Error{Kind: sdk.KindInternal, Op: op, Err: err,
			Message: fmt.Sprintf("The control plane's answer to %s %s is not the JSON the API defines.", method, path)}
	}
	return nil
}

// once makes one attempt bounded by the request timeout.
func (c *client) once(ctx context.Context, method, path string, payload []byte, limit int64) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, method, path, payload)
	if err != nil {
		return answer{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return answer{}, fmt.Errorf("read answer: %w", err)
	}
	if int64(len(body)) > limit {
		return answer{status: resp.StatusCode}, fmt.Errorf("answer to %s %s is larger than %d bytes", method, path, limit)
	}
	return answer{status: resp.StatusCode, body: body}, nil
}

func (c *client) newRequest(ctx context.Context, method, path string, payload []byte) (*http.Request, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.cfg.base.String(), "/")+path, body)
	if err != nil {
		return nil, err
	}
	token := c.cfg.sharedSecret
	if strings.HasPrefix(path, "/cp/admin/") {
		token = c.cfg.adminToken
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// statusError maps a non-2xx answer to an *sdk.Error carrying the CP's
// message.
func (c *client) statusError(op, path string, a answer) error {
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := fmt.Sprintf("an unstructured answer of %d bytes", len(a.body))
	if json.Unmarshal(a.body, &eb) == nil && eb.Error.Message != "" {
		msg = eb.Error.Message
	}
	where := c.cfg.base.Redacted()
	switch {
	case a.status == http.StatusBadRequest || a.status == http.StatusRequestEntityTooLarge:
		return &sdk.Error{Kind: sdk.KindInvalid, Op: op, Message: "The control plane refused the request: " + msg}
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		key := ConfigSharedSecret
		if strings.HasPrefix(path, "/cp/admin/") {
			key = ConfigAdminToken
		}
		return sdk.Invalid(op, fmt.Sprintf("The control plane at %s refused the credentials (HTTP %d).", where, a.status),
			sdk.FieldError{Path: "config." + key, Message: "rejected by the control plane"})
	case a.status == http.StatusNotFound:
		return &sdk.Error{Kind: sdk.KindNotFound, Op: op, Message: msg}
	case a.status == http.StatusConflict:
		return &sdk.Error{Kind: sdk.KindConflict, Op: op, Message: msg}
	case a.status == http.StatusTooManyRequests:
		return &sdk.Error{Kind: sdk.KindQuota, Op: op, Message: fmt.Sprintf("The control plane at %s is over a limit after %d retries: %s", where, c.cfg.maxRetries, msg)}
	case a.status >= 500:
		return &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: fmt.Sprintf("control plane at %s is unreachable: HTTP %d after %d retries: %s", where, a.status, c.cfg.maxRetries, msg)}
	}
	return &sdk.Error{Kind: sdk.KindInternal, Op: op, Message: fmt.Sprintf("The control plane at %s answered HTTP %d: %s", where, a.status, msg)}
}

// backoff returns the wait before retry attempt+1: exponential, capped,
// with full jitter over its upper half.
func backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt, 10)
	if d > backoffMax {
		d = backoffMax
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
