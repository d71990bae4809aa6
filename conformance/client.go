package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls the host's HTTP API with the admin token. It knows the API
// only from its published contract (docs/api), never from host code.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Workspace is the API's workspace object.
type Workspace struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Backend           string            `json:"backend"`
	Runtime           string            `json:"runtime"`
	Tier              int               `json:"tier"`
	Status            string            `json:"status"`
	StatusReason      string            `json:"status_reason"`
	URL               string            `json:"url"`
	ConfigHash        string            `json:"config_hash"`
	Config            map[string]string `json:"config"`
	LastHeartbeatAt   *time.Time        `json:"last_heartbeat_at"`
	ProvisionDeadline *time.Time        `json:"provision_deadline"`
}

// Operation is the API's operation object.
type Operation struct {
	ID          string     `json:"id"`
	WorkspaceID string     `json:"workspace_id"`
	Verb        string     `json:"verb"`
	State       string     `json:"state"`
	Step        string     `json:"step"`
	Attempts    int        `json:"attempts"`
	Error       *APIError  `json:"error"`
	FinishedAt  *time.Time `json:"finished_at"`
}

// Orphan is one entry of GET /orphans.
type Orphan struct {
	Backend     string   `json:"backend"`
	WorkspaceID string   `json:"workspace_id"`
	Resources   []string `json:"resources"`
}

// CreateRequest is the body of POST /workspaces.
type CreateRequest struct {
	Name    string            `json:"name"`
	Backend string            `json:"backend"`
	Runtime string            `json:"runtime,omitempty"`
	Tier    int               `json:"tier,omitempty"`
	Config  map[string]string `json:"config,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
}

// Accepted is the 202 answer of a verb: the workspace and its operation.
type Accepted struct {
	Workspace Workspace `json:"workspace"`
	Operation Operation `json:"operation"`
}

// APIError is the API's error body, and the error Client returns for any
// non-2xx answer.
type APIError struct {
	HTTPStatus int    `json:"-"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RequestID  string `json:"request_id"`
	Fields     []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"fields"`
}

func (e *APIError) Error() string {
	if e.HTTPStatus == 0 { // an operation's error: no HTTP exchange
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("http %d %s: %s (request %s)", e.HTTPStatus, e.Code, e.Message, e.RequestID)
}

// Create posts a new workspace.
func (c *Client) Create(ctx context.Context, req CreateRequest) (*Accepted, error) {
	var a Accepted
	return &a, c.do(ctx, http.MethodPost, "/workspaces", req, &a)
}

// Get returns one workspace.
func (c *Client) Get(ctx context.Context, id string) (*Workspace, error) {
	var w Workspace
	return &w, c.do(ctx, http.MethodGet, "/workspaces/"+url.PathEscape(id), nil, &w)
}

// List returns workspaces, filtered by the non-empty query values.
func (c *Client) List(ctx context.Context, backend, status string) ([]Workspace, error) {
	q := url.Values{}
	if backend != "" {
		q.Set("backend", backend)
	}
	if status != "" {
		q.Set("status", status)
	}
	var out struct {
		Workspaces []Workspace `json:"workspaces"`
	}
	return out.Workspaces, c.do(ctx, http.MethodGet, "/workspaces?"+q.Encode(), nil, &out)
}

// PatchConfig replaces a workspace's config in the database.
func (c *Client) PatchConfig(ctx context.Context, id string, config map[string]string) (*Workspace, error) {
	var w Workspace
	body := map[string]any{"config": config}
	return &w, c.do(ctx, http.MethodPatch, "/workspaces/"+url.PathEscape(id), body, &w)
}

// Verb posts start, stop or restart for a workspace.
func (c *Client) Verb(ctx context.Context, id, verb string) (*Accepted, error) {
	var a Accepted
	return &a, c.do(ctx, http.MethodPost, "/workspaces/"+url.PathEscape(id)+"/"+verb, nil, &a)
}

// Delete deletes a workspace.
func (c *Client) Delete(ctx context.Context, id string) (*Accepted, error) {
	var a Accepted
	return &a, c.do(ctx, http.MethodDelete, "/workspaces/"+url.PathEscape(id), nil, &a)
}

// Operation returns one operation.
func (c *Client) Operation(ctx context.Context, id string) (*Operation, error) {
	var o Operation
	return &o, c.do(ctx, http.MethodGet, "/operations/"+url.PathEscape(id), nil, &o)
}

// Orphans returns what backends hold that the store has no live workspace for.
func (c *Client) Orphans(ctx context.Context) ([]Orphan, error) {
	var out struct {
		Orphans []Orphan `json:"orphans"`
	}
	return out.Orphans, c.do(ctx, http.MethodGet, "/orphans", nil, &out)
}

// BootLog returns a workspace's boot log (not followed), at most tail lines.
func (c *Client) BootLog(ctx context.Context, id string, tail int) (string, error) {
	path := fmt.Sprintf("/workspaces/%s/boot-log?tail=%d", url.PathEscape(id), tail)
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET %s: read body: %w", path, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return string(b), fmt.Errorf("GET %s: content type %q, want text/plain", path, ct)
	}
	return string(b), nil
}

// Healthz checks GET /healthz.
func (c *Client) Healthz(ctx context.Context) error {
	var out struct {
		Status string `json:"status"`
	}
	if err := c.do(ctx, http.MethodGet, "/healthz", nil, &out); err != nil {
		return err
	}
	if out.Status != "ok" {
		return fmt.Errorf("healthz status %q, want ok", out.Status)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send performs the request and turns any non-2xx answer into *APIError.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var env struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(b, &env) != nil || env.Error == nil {
		return nil, &APIError{HTTPStatus: resp.StatusCode, Code: "unparsed", Message: fmt.Sprintf("%s %s: %s", method, path, strings.TrimSpace(string(b)))}
	}
	env.Error.HTTPStatus = resp.StatusCode
	return nil, env.Error
}
