package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/molecule-ai/molecule-host/host/httpapi"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
)

// TestDatabaseDownIs503: with the database gone, the API answers 503
// "transient" with a Retry-After, not 500 "internal".
func TestDatabaseDownIs503(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	st.Close()
	api := httpapi.New(httpapi.Deps{Store: st, AdminToken: "admin", Logger: slog.New(slog.DiscardHandler)})
	for _, path := range []string{"/workspaces", "/workspaces/5f0c3c4e-8f43-4e0b-9a57-0c1f3f6b2a11"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer admin")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusServiceUnavailable || body.Error.Code != "transient" || rec.Header().Get("Retry-After") != "2" {
			t.Errorf("GET %s with the database down: %d %q (%s), Retry-After %q; want 503 transient, Retry-After 2",
				path, rec.Code, body.Error.Code, body.Error.Message, rec.Header().Get("Retry-After"))
		}
	}
}
