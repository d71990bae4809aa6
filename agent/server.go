package agent

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// JSON-RPC 2.0 error codes the agent answers with.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// A2A methods the agent serves on POST /.
const (
	MethodSend    = "message/send"
	MethodHistory = "message/history"
)

const maxRequestBytes = 4 << 20

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// HistoryResult is the result of message/history.
type HistoryResult struct {
	ContextID string    `json:"contextId"`
	Messages  []Message `json:"messages"`
}

// stats counts A2A traffic for heartbeats.
type stats struct {
	active, total, failed atomic.Int64
}

func (s *stats) errorRate() float64 {
	t := s.total.Load()
	if t == 0 {
		return 0
	}
	return float64(s.failed.Load()) / float64(t)
}

// handler serves GET /health and A2A JSON-RPC on POST /.
type handler struct {
	rt      Runtime
	hash    string
	wsID    string
	card    func() any
	stats   *stats
	healthy func() string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/health" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{
			"status": h.healthy(), "config_hash": h.hash, "runtime": h.rt.Name(), "workspace_id": h.wsID,
		})
	case r.URL.Path == "/.well-known/agent.json" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.card())
	case r.URL.Path == "/" && r.Method == http.MethodPost:
		h.serveRPC(w, r)
	case r.URL.Path == "/" || r.URL.Path == "/health":
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	}
}

func (h *handler) serveRPC(w http.ResponseWriter, r *http.Request) {
	h.stats.active.Add(1)
	defer h.stats.active.Add(-1)
	h.stats.total.Add(1)
	resp := h.call(r)
	if resp.Error != nil && resp.Error.Code == CodeInternalError {
		h.stats.failed.Add(1)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) call(r *http.Request) rpcResponse {
	resp := rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null")}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	var req rpcRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		resp.Error = &rpcError{CodeParseError, "parse error: " + err.Error()}
		return resp
	}
	if len(req.ID) > 0 {
		resp.ID = req.ID
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		resp.Error = &rpcError{CodeInvalidRequest, `invalid request: want "jsonrpc":"2.0" and a method`}
		return resp
	}
	switch req.Method {
	case MethodSend:
		resp.Result, resp.Error = h.send(r, req.Params)
	case MethodHistory:
		resp.Result, resp.Error = h.history(req.Params)
	default:
		resp.Error = &rpcError{CodeMethodNotFound, "method not found: " + req.Method}
	}
	return resp
}

func (h *handler) send(r *http.Request, params json.RawMessage) (any, *rpcError) {
	var p struct {
		Message *Message `json:"message"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.Message == nil {
		return nil, &rpcError{CodeInvalidParams, `invalid params: want {"message":{"role":"user","parts":[{"kind":"text","text":"..."}]}}`}
	}
	reply, err := h.rt.Send(r.Context(), *p.Message)
	if errors.Is(err, ErrBadMessage) {
		return nil, &rpcError{CodeInvalidParams, "invalid params: " + err.Error()}
	}
	if err != nil {
		return nil, &rpcError{CodeInternalError, "runtime error: " + err.Error()}
	}
	return reply, nil
}

func (h *handler) history(params json.RawMessage) (any, *rpcError) {
	var p struct {
		ContextID string `json:"contextId"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.ContextID == "" {
		return nil, &rpcError{CodeInvalidParams, `invalid params: want {"contextId":"..."}`}
	}
	return HistoryResult{ContextID: p.ContextID, Messages: h.rt.History(p.ContextID)}, nil
}

// requireCredential serves only requests carrying "Authorization: Bearer
// cred" (the host's per-workspace A2A credential); anything else gets 401
// and is not read.
func requireCredential(cred string, next http.Handler) http.Handler {
	want := []byte("Bearer " + cred)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="molecule-agent"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "the host's A2A credential is required"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
