package fake

import (
	"encoding/json"
	"net/http"
)

// handler serves the simulated agent's HTTP API: GET /health and a
// JSON-RPC "message/send" that echoes the message's parts back.
func (a *agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"status": "ok", "workspace_id": a.id})
	})
	mux.HandleFunc("POST /{$}", a.serveJSONRPC)
	return mux
}

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  struct {
		Message map[string]any `json:"message"`
	} `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

func (a *agent) serveJSONRPC(w http.ResponseWriter, r *http.Request) {
	var req rpcRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{Code: -32700, Message: "parse error: " + err.Error()}})
		return
	}
	resp := rpcResponse{JSONRPC: "2.0", ID: req.ID}
	if req.Method != "message/send" {
		resp.Error = &rpcError{Code: -32601, Message: "method not found: " + req.Method}
		writeJSON(w, resp)
		return
	}
	in := req.Params.Message
	reply := map[string]any{"kind": "message", "role": "agent", "parts": in["parts"]}
	if id, ok := in["messageId"].(string); ok {
		reply["messageId"] = "echo-" + id
	}
	if c, ok := in["contextId"]; ok {
		reply["contextId"] = c
	}
	reply["metadata"] = map[string]any{"workspace_id": a.id}
	resp.Result = reply
	writeJSON(w, resp)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
