package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/httpapi"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/host/registry"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
)

// agentHost is the API with a real registry on a fresh database.
type agentHost struct {
	tb  testing.TB
	st  *store.Store
	api *httpapi.Server
}

func mustAgentHost(tb testing.TB, d httpapi.Deps) *agentHost {
	tb.Helper()
	st := storetest.New(tb)
	log := slog.New(slog.DiscardHandler)
	d.Registry, d.Logger = registry.New(st, log), log
	if d.Store == nil {
		d.Store = st
	}
	return &agentHost{tb: tb, st: st, api: httpapi.New(d)}
}

func ctxT(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// mustWorkspace creates a provisioning workspace with a live agent token.
func (h *agentHost) mustWorkspace(name string) (id, token string) {
	h.tb.Helper()
	ws := &host.Workspace{Name: name, Backend: "fake", Runtime: "default", Tier: 2,
		Config: map[string]string{"a.yaml": "x: 1"}, ConfigHash: "h1"}
	if err := h.st.CreateWorkspace(ctxT(h.tb), ws, &host.Operation{Verb: host.VerbCreate}); err != nil {
		h.tb.Fatalf("CreateWorkspace: %v", err)
	}
	token = "tok-" + name
	if err := h.st.SetAgentToken(ctxT(h.tb), ws.ID, lifecycle.TokenDigest(token)); err != nil {
		h.tb.Fatalf("SetAgentToken: %v", err)
	}
	return ws.ID, token
}

// post makes an agent call; body is JSON-encoded unless it is an io.Reader.
func (h *agentHost) post(token, path string, body any) *httptest.ResponseRecorder {
	h.tb.Helper()
	r, ok := body.(io.Reader)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			h.tb.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(http.MethodPost, path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.api.ServeHTTP(rec, req)
	return rec
}

// events lists a workspace's stored events, newest first.
func (h *agentHost) events(id string) []store.Event {
	h.tb.Helper()
	evs, err := h.st.ListEvents(ctxT(h.tb), id, store.MaxEventsPerWorkspace)
	if err != nil {
		h.tb.Fatalf("ListEvents: %v", err)
	}
	return evs
}

var configHash = agentapi.ConfigHash(map[string][]byte{"a.yaml": []byte("x: 1")})

// TestBadBootEventStoresNothing attacks POST /registry/boot-event with
// events that must be refused: each is answered 4xx and adds no event row.
func TestBadBootEventStoresNothing(t *testing.T) {
	t.Parallel()
	h := mustAgentHost(t, httpapi.Deps{})
	id, tok := h.mustWorkspace("bad-events")
	huge := `{"phase":"ready","detail":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := map[string]struct {
		body   any
		status int
	}{
		"unknown phase":               {agentapi.BootEvent{Phase: "pwned", Detail: "x"}, 400},
		"config applied without hash": {agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied}, 400},
		"hash not a sha256":           {agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied, ConfigHash: "h1"}, 400},
		"another workspace's id":      {agentapi.BootEvent{WorkspaceID: "00000000-0000-0000-0000-000000000000", Phase: agentapi.PhaseReady}, 400},
		"body over the cap":           {strings.NewReader(huge), 413},
		"unknown field":               {map[string]string{"phase": "ready", "extra": "x"}, 400},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := len(h.events(id))
			rec := h.post(tok, agentapi.PathBootEvent, tc.body)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if after := len(h.events(id)); after != before {
				t.Errorf("events %d -> %d: a refused boot event was stored", before, after)
			}
		})
	}
	// The same route still takes a good event.
	if rec := h.post(tok, agentapi.PathBootEvent, agentapi.BootEvent{Phase: agentapi.PhaseConfigApplied, ConfigHash: configHash}); rec.Code != 200 {
		t.Fatalf("good event: status %d: %s", rec.Code, rec.Body)
	}
}

// TestBootEventDetailTruncated pins the documented choice: a detail over
// registry.MaxBootDetail (within the body cap) is stored cut, not refused.
func TestBootEventDetailTruncated(t *testing.T) {
	t.Parallel()
	h := mustAgentHost(t, httpapi.Deps{})
	id, tok := h.mustWorkspace("long-detail")
	rec := h.post(tok, agentapi.PathBootEvent, agentapi.BootEvent{Phase: agentapi.PhaseFailed, Detail: strings.Repeat("d", 40<<10)})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var ev agentapi.BootEvent
	for _, e := range h.events(id) {
		if e.Type == "boot.failed" {
			if err := json.Unmarshal(e.Payload, &ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(ev.Detail); n == 0 || n > registry.MaxBootDetail {
		t.Errorf("stored detail is %d bytes, want 1..%d", n, registry.MaxBootDetail)
	}
}

// TestAgentRateLimit floods one workspace's registry calls: past the burst
// they get 429 with Retry-After and store nothing, while another workspace
// is served as usual.
func TestAgentRateLimit(t *testing.T) {
	t.Parallel()
	h := mustAgentHost(t, httpapi.Deps{}) // the defaults cmd/molecule-host runs with
	noisy, noisyTok := h.mustWorkspace("noisy")
	quiet, quietTok := h.mustWorkspace("quiet")
	before := len(h.events(noisy))
	start := time.Now()
	ok, limited, firstLimited := 0, 0, -1
	for i := range 200 {
		rec := h.post(noisyTok, agentapi.PathBootEvent, agentapi.BootEvent{Phase: agentapi.PhaseRuntimeStarted})
		switch rec.Code {
		case 200:
			ok++
		case 429:
			if limited++; firstLimited < 0 {
				firstLimited = i
			}
			if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("429 with Retry-After %q", rec.Header().Get("Retry-After"))
			}
		default:
			t.Fatalf("call %d: status %d: %s", i, rec.Code, rec.Body)
		}
	}
	elapsed := time.Since(start)
	const burst, perSecond = 40, 5
	if limited == 0 || firstLimited < burst {
		t.Fatalf("%d of 200 calls limited, the first at %d; want 429s after a burst of %d", limited, firstLimited, burst)
	}
	if maxOK := burst + int(elapsed.Seconds()*perSecond) + 1; ok > maxOK {
		t.Errorf("%d calls accepted in %s, want at most %d", ok, elapsed, maxOK)
	}
	if stored := len(h.events(noisy)) - before; stored != ok {
		t.Errorf("%d events stored for %d accepted calls: a limited call was stored", stored, ok)
	}
	for _, path := range []string{agentapi.PathBootEvent, agentapi.PathHeartbeat} {
		body := any(agentapi.BootEvent{WorkspaceID: quiet, Phase: agentapi.PhaseRuntimeStarted})
		if path == agentapi.PathHeartbeat {
			body = agentapi.HeartbeatRequest{WorkspaceID: quiet}
		}
		if rec := h.post(quietTok, path, body); rec.Code != 200 {
			t.Errorf("other workspace %s: status %d: %s", path, rec.Code, rec.Body)
		}
	}
}

// countingReader is an endless body that counts the bytes read from it.
type countingReader struct {
	n, limit int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, io.EOF
	}
	k := min(len(p), c.limit-c.n)
	for i := range p[:k] {
		p[i] = ' '
	}
	c.n += k
	return k, nil
}

// TestAgentAuthBeforeBody sends 2 MiB bodies to the registry without a
// valid token: the answer is 401 and not one byte of the body is read.
func TestAgentAuthBeforeBody(t *testing.T) {
	t.Parallel()
	h := mustAgentHost(t, httpapi.Deps{AgentBurst: 1, AgentRate: 0.001})
	_, tok := h.mustWorkspace("auth")
	tests := map[string]struct {
		token  string
		status int
	}{
		"no token":      {"", 401},
		"unknown token": {"nope", 401},
		"rate limited":  {tok, 429}, // the bucket holds one call, taken below
	}
	if rec := h.post(tok, agentapi.PathHeartbeat, agentapi.HeartbeatRequest{}); rec.Code != 200 {
		t.Fatalf("first heartbeat: status %d: %s", rec.Code, rec.Body)
	}
	for name, tc := range tests {
		for _, path := range []string{agentapi.PathRegister, agentapi.PathHeartbeat, agentapi.PathBootEvent} {
			body := &countingReader{limit: 2 << 20}
			rec := h.post(tc.token, path, body)
			if rec.Code != tc.status || body.n != 0 {
				t.Errorf("%s %s: status %d after reading %d body bytes, want %d after none", name, path, rec.Code, body.n, tc.status)
			}
		}
	}
}

// TestAgentTokenOnlyWhileLive: a workspace that is stopped, failed or
// removed refuses its agent's token even when the token row is still
// there (the stop revokes it too; see host/e2e TestStopRevokesAgentToken).
func TestAgentTokenOnlyWhileLive(t *testing.T) {
	t.Parallel()
	h := mustAgentHost(t, httpapi.Deps{})
	tests := map[string]struct {
		to     host.Status
		status int
	}{
		"provisioning": {host.StatusProvisioning, 200},
		"online":       {host.StatusOnline, 200},
		"stopped":      {host.StatusStopped, 401},
		"failed":       {host.StatusFailed, 401},
		"removed":      {host.StatusRemoved, 401},
	}
	for name, tc := range tests {
		id, tok := h.mustWorkspace("live-" + name)
		if _, err := h.st.Transition(ctxT(t), id, host.StatusChange{To: tc.to, Reason: "test"}); err != nil {
			t.Fatalf("%s: Transition: %v", name, err)
		}
		before := len(h.events(id))
		hb := h.post(tok, agentapi.PathHeartbeat, agentapi.HeartbeatRequest{WorkspaceID: id})
		ev := h.post(tok, agentapi.PathBootEvent, agentapi.BootEvent{WorkspaceID: id, Phase: agentapi.PhaseReady})
		if hb.Code != tc.status || ev.Code != tc.status {
			t.Errorf("%s: heartbeat %d, boot event %d, want %d", name, hb.Code, ev.Code, tc.status)
		}
		if stored := len(h.events(id)) - before; tc.status != 200 && stored != 0 {
			t.Errorf("%s: %d events stored from a dead token", name, stored)
		}
	}
}
