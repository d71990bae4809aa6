package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// kindStatus is the one table mapping error kinds to HTTP statuses and API
// error codes (DESIGN.md section 6).
var kindStatus = map[sdk.Kind]struct {
	status int
	code   string
}{
	sdk.KindInvalid:     {http.StatusBadRequest, "invalid"},
	sdk.KindNotFound:    {http.StatusNotFound, "not_found"},
	sdk.KindConflict:    {http.StatusConflict, "conflict"},
	sdk.KindUnsupported: {http.StatusNotImplemented, "not_implemented"},
	sdk.KindQuota:       {http.StatusTooManyRequests, "quota"},
	sdk.KindTransient:   {http.StatusServiceUnavailable, "transient"},
	sdk.KindInternal:    {http.StatusInternalServerError, "internal"},
}

// retryAfter is the Retry-After (seconds) of every 503 answer.
const retryAfter = "2"

// apiError is an error with its HTTP status, for conditions that have no
// sdk kind (401, 405, 413).
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func errUnauthorized(msg string) error {
	return &apiError{http.StatusUnauthorized, "unauthorized", msg}
}

func errTooLarge(limit int64) error {
	return &apiError{http.StatusRequestEntityTooLarge, "too_large",
		fmt.Sprintf("The request body is larger than the %d-byte limit of this route.", limit)}
}

func errNotFoundRoute(r *http.Request) error {
	return &apiError{http.StatusNotFound, "not_found", "No route for " + r.Method + " " + r.URL.Path + "."}
}

func errMethod(r *http.Request) error {
	return &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "Method " + r.Method + " is not allowed on " + r.URL.Path + "."}
}

type errorBody struct {
	Error errorDTO `json:"error"`
}

type errorDTO struct {
	Code      string     `json:"code"`
	Message   string     `json:"message"`
	RequestID string     `json:"request_id"`
	Fields    []fieldDTO `json:"fields,omitempty"`
}

type fieldDTO struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// writeError answers with err as a JSON error. Internal errors show users a
// generic message and the request id; the log has the full error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	rid := requestID(r.Context())
	body := errorDTO{RequestID: rid}
	status := http.StatusInternalServerError
	var ae *apiError
	var se *sdk.Error
	switch {
	case errors.As(err, &ae):
		status, body.Code, body.Message = ae.status, ae.code, ae.message
	case errors.As(err, &se) && se.Kind != sdk.KindInternal:
		ks := kindStatus[se.Kind]
		status, body.Code, body.Message = ks.status, ks.code, se.Message
		if body.Message == "" {
			body.Message = se.Error()
		}
		for _, f := range se.Fields {
			body.Fields = append(body.Fields, fieldDTO{Path: f.Path, Message: f.Message})
		}
	case errors.Is(err, context.DeadlineExceeded):
		status, body.Code, body.Message = http.StatusServiceUnavailable, "transient", "The request timed out; try again."
	default:
		body.Code, body.Message = "internal", "Internal error; quote request id "+rid+" to the operator."
	}
	if status == http.StatusServiceUnavailable {
		// Transient: the database or a backend is briefly unavailable.
		w.Header().Set("Retry-After", retryAfter)
	}
	switch {
	case status == http.StatusServiceUnavailable: // transient, e.g. a stopped workspace: expected
		s.d.Logger.Warn("request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	case status >= 500:
		s.d.Logger.Error("request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, errorBody{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	sr.status = code
	sr.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (sr *statusRecorder) Unwrap() http.ResponseWriter { return sr.ResponseWriter }

// Flush lets streamed responses (boot log) through the recorder.
func (sr *statusRecorder) Flush() {
	if f, ok := sr.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sr := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sr, r)
		s.d.Logger.Debug("http", "method", r.Method, "path", r.URL.Path, "status", sr.status,
			"dur", time.Since(start), "request_id", requestID(r.Context()))
	})
}

func errBadGateway(msg string) error {
	return &apiError{http.StatusBadGateway, "bad_gateway", msg}
}
