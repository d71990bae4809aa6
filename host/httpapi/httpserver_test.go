package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serve runs newHTTPServer(h, l) on a loopback port until the test ends.
func serve(tb testing.TB, h http.Handler, l serverLimits) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := newHTTPServer(h, l)
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// shortLimits are defaultLimits scaled down so a test can outlast them.
var shortLimits = serverLimits{readHeader: time.Second, read: time.Second, write: time.Second,
	idle: time.Second, maxHeaderBytes: defaultLimits.maxHeaderBytes}

// TestNewHTTPServerLimits pins that the host's server bounds every phase.
func TestNewHTTPServerLimits(t *testing.T) {
	t.Parallel()
	s := NewHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 ||
		s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes >= http.DefaultMaxHeaderBytes {
		t.Errorf("NewHTTPServer leaves a limit unset: %+v", s)
	}
}

// TestSlowBodyDisconnected sends a request's headers, then trickles its
// body a byte at a time: the server must hang up within its read timeout.
func TestSlowBodyDisconnected(t *testing.T) {
	t.Parallel()
	api := New(Deps{AdminToken: "admin", Logger: slog.New(slog.DiscardHandler)})
	addr := serve(t, api, shortLimits)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /workspaces HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer admin\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond) // the trickle's pace
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	failsafe := shortLimits.read + 5*time.Second
	_ = conn.SetReadDeadline(time.Now().Add(failsafe))
	_, err = io.ReadAll(conn)
	took := time.Since(start)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a trickled body kept its connection open for %s (read timeout %s)", failsafe, shortLimits.read)
	}
	if took > shortLimits.read+time.Second {
		t.Errorf("connection closed after %s, want within the read timeout %s", took, shortLimits.read)
	}
	t.Logf("trickling client disconnected after %s (read timeout %s)", took.Round(time.Millisecond), shortLimits.read)
}

// TestLongRequestsOutliveTimeouts: a long poll, a long handler after a read
// body, and a stream all outlast the read and write timeouts, which bound
// only reading the request and each write.
func TestLongRequestsOutliveTimeouts(t *testing.T) {
	t.Parallel()
	hold := 3 * shortLimits.read
	wait := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(hold): // the handler's own work, as a long poll's
			_, _ = io.WriteString(w, "held")
		case <-r.Context().Done():
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /poll", wait)
	mux.HandleFunc("POST /poll", wait)
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		tick := time.NewTicker(hold / 10)
		defer tick.Stop()
		for i := range 10 {
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
		}
	})
	base := "http://" + serve(t, mux, shortLimits)
	tests := map[string]struct {
		method, path, body, want string
	}{
		"long poll":              {"GET", "/poll", "", "held"},
		"long handler with body": {"POST", "/poll", `{"a":1}`, "held"},
		"followed stream":        {"GET", "/stream", "", "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if tc.body == "" {
				req.Body = http.NoBody
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(bufio.NewReader(resp.Body))
			if err != nil || string(got) != tc.want {
				t.Errorf("after %s: got %q, %v; want %q", hold, got, err, tc.want)
			}
		})
	}
}
