package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/httpapi"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
)

const apiAdmin = "api-admin-token"

// refusingLifecycle fails the test when a request reaches it: the requests
// sent here must be refused before.
type refusingLifecycle struct{ tb testing.TB }

func (l refusingLifecycle) Create(context.Context, lifecycle.CreateRequest) (*host.Workspace, *host.Operation, error) {
	l.tb.Error("Create reached the lifecycle")
	return nil, nil, errors.New("create reached the lifecycle")
}

func (l refusingLifecycle) Act(context.Context, string, host.Verb) (*host.Workspace, *host.Operation, error) {
	l.tb.Error("Act reached the lifecycle")
	return nil, nil, errors.New("act reached the lifecycle")
}

func (l refusingLifecycle) Orphans(context.Context, []string) (*lifecycle.OrphanReport, error) {
	return &lifecycle.OrphanReport{}, nil
}

type backendList []string

func (b backendList) Backends() []httpapi.BackendInfo {
	var out []httpapi.BackendInfo
	for _, n := range b {
		out = append(out, httpapi.BackendInfo{Name: n})
	}
	return out
}

// linesLogs is a boot log of three lines that honours TailLines.
type linesLogs struct{}

func (linesLogs) Logs(_ context.Context, _ *host.Workspace, opt dispatch.LogsOptions, send func([]byte) error) error {
	lines := []string{"one\n", "two\n", "three\n"}
	if opt.TailLines > 0 && opt.TailLines < len(lines) {
		lines = lines[len(lines)-opt.TailLines:]
	}
	return send([]byte(strings.Join(lines, "")))
}

func mustAPIHost(tb testing.TB) *agentHost {
	tb.Helper()
	return mustAgentHost(tb, httpapi.Deps{AdminToken: apiAdmin, Lifecycle: refusingLifecycle{tb},
		Backends: backendList{"docker", "fake"}, Logs: linesLogs{}})
}

// do makes an admin request; body is sent as it is.
func (h *agentHost) do(method, path, body string) *httptest.ResponseRecorder {
	h.tb.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiAdmin)
	rec := httptest.NewRecorder()
	h.api.ServeHTTP(rec, req)
	return rec
}

type apiErr struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
		Fields    []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// wantError checks rec is status with an error body naming field (when
// not empty) and carrying the request id of its X-Request-Id header.
func wantError(tb testing.TB, rec *httptest.ResponseRecorder, status int, field string) apiErr {
	tb.Helper()
	var e apiErr
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != status {
		tb.Fatalf("answer %d %s (%v), want %d with a JSON error", rec.Code, rec.Body, err, status)
	}
	if e.Error.RequestID == "" || rec.Header().Get("X-Request-Id") != e.Error.RequestID {
		tb.Errorf("request_id %q, X-Request-Id %q: want both, equal", e.Error.RequestID, rec.Header().Get("X-Request-Id"))
	}
	if field != "" && (len(e.Error.Fields) != 1 || e.Error.Fields[0].Path != field) {
		tb.Errorf("fields %+v, want only %q", e.Error.Fields, field)
	}
	return e
}

// TestOversizeBodyIs413: a body over the admin routes' cap is 413 naming
// the limit, not a 400 about broken JSON.
func TestOversizeBodyIs413(t *testing.T) {
	t.Parallel()
	h := mustAPIHost(t)
	huge := strings.Repeat("x", 3<<20)
	for name, body := range map[string]string{
		"inside a string": `{"name":"` + huge + `"}`,
		"inside config":   `{"name":"a","backend":"fake","config":{"a":"` + huge + `"}}`,
		"after the value": `{"config":{"a":"b"}}` + strings.Repeat(" ", 3<<20),
	} {
		t.Run(name, func(t *testing.T) {
			for _, target := range []string{"POST /workspaces", "PATCH /workspaces/00000000-0000-0000-0000-000000000000"} {
				method, path, _ := strings.Cut(target, " ")
				e := wantError(t, h.do(method, path, body), http.StatusRequestEntityTooLarge, "")
				if e.Error.Code != "too_large" || !strings.Contains(e.Error.Message, "2097152-byte limit") {
					t.Fatalf("%s: %+v, want too_large naming the 2097152-byte limit", target, e.Error)
				}
			}
		})
	}
}

// TestNULBytesAre400: Postgres cannot store a NUL byte in text or jsonb;
// every string of a body is checked, and the answer names the field.
func TestNULBytesAre400(t *testing.T) {
	t.Parallel()
	h := mustAPIHost(t)
	id, tok := h.mustOnlineAt("nul", "127.0.0.1:7000")
	for name, tc := range map[string]struct {
		method, path, body, field string
	}{
		"create name":             {"POST", "/workspaces", `{"name":"a\u0000","backend":"fake"}`, "name"},
		"create backend":          {"POST", "/workspaces", `{"name":"a","backend":"fa\u0000ke"}`, "backend"},
		"create runtime":          {"POST", "/workspaces", `{"name":"a","backend":"fake","runtime":"echo\u0000"}`, "runtime"},
		"create config content":   {"POST", "/workspaces", `{"name":"a","backend":"fake","config":{"a.md":"x\u0000y"}}`, "config.a.md"},
		"create config path":      {"POST", "/workspaces", `{"name":"a","backend":"fake","config":{"a\u0000":"x"}}`, "config.a\x00"},
		"update config content":   {"PATCH", "/workspaces/" + id, `{"config":{"a.md":"x\u0000y"}}`, "config.a.md"},
		"agent card (register)":   {"POST", agentapi.PathRegister, `{"workspace_id":"` + id + `","url":"http://127.0.0.1:7000","agent_card":{"name":"n\u0000","url":"http://127.0.0.1:7000"}}`, "agent_card.name"},
		"heartbeat runtime state": {"POST", agentapi.PathHeartbeat, `{"workspace_id":"` + id + `","runtime_state":"\u0000","config_hash":"h"}`, "runtime_state"},
	} {
		t.Run(name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if strings.HasPrefix(tc.path, "/registry/") {
				rec = h.post(tok, tc.path, strings.NewReader(tc.body))
			} else {
				rec = h.do(tc.method, tc.path, tc.body)
			}
			e := wantError(t, rec, http.StatusBadRequest, tc.field)
			if len(e.Error.Fields) == 1 && !strings.Contains(e.Error.Fields[0].Message, "NUL") {
				t.Errorf("field message %q, want it to name the NUL byte", e.Error.Fields[0].Message)
			}
		})
	}
}

// TestBootLogTail: tail=N is the last N lines, no tail is everything, and
// tail=0 is nothing.
func TestBootLogTail(t *testing.T) {
	t.Parallel()
	h := mustAPIHost(t)
	id, _ := h.mustWorkspace("logs")
	for query, want := range map[string]string{"": "one\ntwo\nthree\n", "?tail=2": "two\nthree\n", "?tail=0": ""} {
		rec := h.do("GET", "/workspaces/"+id+"/boot-log"+query, "")
		if rec.Code != http.StatusOK || rec.Body.String() != want {
			t.Errorf("boot-log%s = %d %q, want 200 %q", query, rec.Code, rec.Body, want)
		}
	}
	wantError(t, h.do("GET", "/workspaces/"+id+"/boot-log?tail=0&follow=1", ""), http.StatusBadRequest, "tail")
}

// TestUnroutedAnswers: a 404 and a 405 carry the request id like every
// other error, and a 405 says in Allow what the path takes.
func TestUnroutedAnswers(t *testing.T) {
	t.Parallel()
	h := mustAPIHost(t)
	wantError(t, h.do("GET", "/nowhere", ""), http.StatusNotFound, "")
	for target, allow := range map[string]string{
		"DELETE /healthz":        "GET, HEAD",
		"PUT /workspaces":        "GET, POST",
		"PUT /workspaces/x":      "GET, PATCH, DELETE",
		"GET /registry/register": "POST",
	} {
		method, path, _ := strings.Cut(target, " ")
		rec := h.do(method, path, "")
		wantError(t, rec, http.StatusMethodNotAllowed, "")
		if got := rec.Header().Get("Allow"); got != allow {
			t.Errorf("%s: Allow %q, want %q", target, got, allow)
		}
	}
	// The agent-only handler (the host socket) answers alike.
	rec := httptest.NewRecorder()
	h.api.AgentHandler().ServeHTTP(rec, httptest.NewRequest("GET", agentapi.PathHeartbeat, nil))
	wantError(t, rec, http.StatusMethodNotAllowed, "")
	if got := rec.Header().Get("Allow"); got != "POST" {
		t.Errorf("agent handler: Allow %q, want POST", got)
	}
	rec = httptest.NewRecorder()
	h.api.AgentHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/workspaces", nil))
	wantError(t, rec, http.StatusNotFound, "")
}

func TestHealthzHead(t *testing.T) {
	t.Parallel()
	h := mustAPIHost(t)
	rec := httptest.NewRecorder()
	h.api.ServeHTTP(rec, httptest.NewRequest("HEAD", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("HEAD /healthz = %d, want 200", rec.Code)
	}
}

// TestListQueryChecked: an unknown backend filter is a 400 naming the
// loaded backends, like an unknown status; a parameter a list route does
// not take is a 400 naming it, never silently ignored.
func TestListQueryChecked(t *testing.T) {
	t.Parallel()
	h := mustAPIHost(t)
	e := wantError(t, h.do("GET", "/workspaces?backend=nope", ""), http.StatusBadRequest, "backend")
	if len(e.Error.Fields) == 1 && !strings.Contains(e.Error.Fields[0].Message, "docker, fake") {
		t.Errorf("backend field message %q, want the loaded backends", e.Error.Fields[0].Message)
	}
	if rec := h.do("GET", "/workspaces?backend=fake&status=online", ""); rec.Code != http.StatusOK {
		t.Errorf("known filters: %d %s", rec.Code, rec.Body)
	}
	for _, target := range []string{"/workspaces?limit=5", "/workspaces?name=x", "/backends?verbose=1", "/orphans?backend=fake", "/workspaces/x/operations?limit=1"} {
		param := target[strings.Index(target, "?")+1 : strings.Index(target, "=")]
		wantError(t, h.do("GET", target, ""), http.StatusBadRequest, param)
	}
}

// TestErrorLogLevels: a 503 (a stopped workspace, a brief outage) is
// expected and logged at WARN; a 500 stays at ERROR.
func TestErrorLogLevels(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := mustAgentHost(t, httpapi.Deps{AdminToken: apiAdmin, Lifecycle: refusingLifecycle{t}, Backends: backendList{"fake"}})
	h.api = httpapi.New(httpapi.Deps{AdminToken: apiAdmin, Store: h.st, Logger: log, Lifecycle: lifecycleError{}, Backends: backendList{"fake"}})
	id, _ := h.mustWorkspace("stopped")
	if _, err := h.st.Transition(ctxT(t), id, host.StatusChange{To: host.StatusStopped, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]struct {
		status int
		level  string
	}{
		"/workspaces/" + id + "/a2a":   {http.StatusServiceUnavailable, "WARN"},
		"/workspaces/" + id + "/start": {http.StatusInternalServerError, "ERROR"},
	} {
		buf.Reset()
		rec := h.do("POST", path, `{}`)
		if rec.Code != want.status {
			t.Fatalf("POST %s = %d %s, want %d", path, rec.Code, rec.Body, want.status)
		}
		var line struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "request failed" {
				break
			}
		}
		if line.Msg != "request failed" || line.Level != want.level {
			t.Errorf("POST %s (%d) logged %+v, want %s \"request failed\"", path, want.status, line, want.level)
		}
	}
}

// lifecycleError fails every verb with an internal error.
type lifecycleError struct{ refusingLifecycle }

func (lifecycleError) Act(context.Context, string, host.Verb) (*host.Workspace, *host.Operation, error) {
	return nil, nil, errors.New("boom")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
