package cp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Logs streams the instance's console output (EC2-style, through the CP's
// admin console route) to send in chunks; with Follow it keeps streaming
// until ctx ends or the instance stops. Returns KindNotFound when the
// workspace has no instance, KindTransient, KindInvalid or KindInternal; a
// cancelled ctx gives an error wrapping ctx.Err().
func (b *Backend) Logs(ctx context.Context, req *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	c, err := b.client("logs")
	if err != nil {
		return err
	}
	q := url.Values{}
	if req.Follow {
		q.Set("follow", "true")
	}
	if req.TailLines > 0 {
		q.Set("tail", strconv.Itoa(req.TailLines))
	}
	path := "/cp/admin/workspaces/" + url.PathEscape(req.WorkspaceID) + "/console"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.open(ctx, "logs", path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if err := send(&sdk.LogChunk{Data: append([]byte(nil), buf[:n]...), Stream: "console", Time: time.Now()}); err != nil {
				return err
			}
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil && ctx.Err() != nil:
			return &sdk.Error{Kind: sdk.KindTransient, Op: "logs", Message: "The console stream was cancelled.", Err: ctx.Err()}
		case rerr != nil:
			return &sdk.Error{Kind: sdk.KindTransient, Op: "logs", Err: rerr,
				Message: fmt.Sprintf("The console stream from the control plane at %s broke: %v", c.cfg.base.Redacted(), rerr)}
		}
	}
}

// open starts a streamed GET, retrying like call until the answer's
// headers arrive (within the request timeout); the body is then read for
// as long as ctx lasts. A non-2xx answer becomes an *sdk.Error.
func (c *client) open(ctx context.Context, op, path string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := c.newRequest(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, sdk.Wrap(sdk.KindInternal, op, err, "The console request could not be built.")
		}
		resp, err := c.doHeaders(ctx, req)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: "The console request was cancelled.", Err: ctx.Err()}
		}
		var a answer
		if err == nil && resp.StatusCode/100 == 2 {
			return resp, nil
		}
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
			resp.Body.Close()
			a = answer{status: resp.StatusCode, body: body}
		}
		retryable := err != nil || a.status == http.StatusTooManyRequests || a.status >= 500
		if !retryable || attempt >= c.cfg.maxRetries {
			if err != nil {
				return nil, &sdk.Error{Kind: sdk.KindTransient, Op: op, Err: err,
					Message: fmt.Sprintf("control plane at %s is unreachable: %v", c.cfg.base.Redacted(), err)}
			}
			return nil, c.statusError(op, path, a)
		}
		if werr := sleep(ctx, backoff(attempt)); werr != nil {
			return nil, &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: "The console request was cancelled.", Err: werr}
		}
	}
}

// doHeaders sends req and waits for the answer's headers at most the
// request timeout, without bounding the body that follows.
func (c *client) doHeaders(ctx context.Context, req *http.Request) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	hctx, cancel := context.WithCancel(ctx)
	ch := make(chan result, 1)
	go func() {
		resp, err := c.http.Do(req.WithContext(hctx))
		ch <- result{resp, err}
	}()
	t := time.NewTimer(c.cfg.requestTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			cancel()
			return nil, r.err
		}
		r.resp.Body = cancelOnClose{r.resp.Body, cancel}
		return r.resp, nil
	case <-t.C:
		cancel()
		if r := <-ch; r.resp != nil {
			r.resp.Body.Close()
		}
		return nil, fmt.Errorf("no answer within %s", c.cfg.requestTimeout)
	}
}

// cancelOnClose releases a streamed request's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
