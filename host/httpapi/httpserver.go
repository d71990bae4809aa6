package httpapi

import (
	"io"
	"net/http"
	"time"
)

// serverLimits are the time and size limits of an HTTP server.
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// defaultLimits are the host's. read bounds reading a whole request,
// headers and body (at most maxBody), so a client that trickles its body is
// disconnected; write bounds each write of a response (relaxDeadlines);
// 64 KiB of headers is ample for a bearer token and the usual headers.
var defaultLimits = serverLimits{
	readHeader:     10 * time.Second,
	read:           15 * time.Second,
	write:          30 * time.Second,
	idle:           2 * time.Minute,
	maxHeaderBytes: 64 << 10,
}

// NewHTTPServer returns the http.Server the host serves h with: every read
// and write of a connection is bounded in time and headers in size.
//
// Go's server sets the read deadline at ReadTimeout from the request's
// start and keeps it while the handler runs: when it passes, the server's
// background read fails and cancels the request's context. It sets the
// write deadline at WriteTimeout after the headers were read, so a response
// written later fails. Both would cut short requests that are long by
// design: a long poll (GET /workspaces/{id}?wait=...&timeout=...), a followed
// boot log, a proxied A2A call. So h is wrapped (relaxDeadlines) to lift the
// read deadline once the body has been read, and to move the write deadline
// WriteTimeout past the start of each write: a request may take as long as
// its handler allows, but a client that trickles its body or stops reading
// the response is still disconnected.
func NewHTTPServer(h http.Handler) *http.Server { return newHTTPServer(h, defaultLimits) }

func newHTTPServer(h http.Handler, l serverLimits) *http.Server {
	return &http.Server{
		Handler:           relaxDeadlines(h, l.write),
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    l.maxHeaderBytes,
	}
}

// relaxDeadlines wraps h as NewHTTPServer describes.
func relaxDeadlines(h http.Handler, write time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		release := func() { _ = rc.SetReadDeadline(time.Time{}) }
		if r.Body == nil || r.Body == http.NoBody {
			release()
		} else {
			r.Body = &eofBody{ReadCloser: r.Body, atEOF: release}
		}
		h.ServeHTTP(&progressWriter{ResponseWriter: w, rc: rc, d: write}, r)
	})
}

// eofBody calls atEOF once, when the body has been read to its end.
type eofBody struct {
	io.ReadCloser
	atEOF func()
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && b.atEOF != nil {
		b.atEOF()
		b.atEOF = nil
	}
	return n, err
}

// progressWriter moves the write deadline d ahead of every write, so d
// bounds each write rather than the whole request.
type progressWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (p *progressWriter) extend() { _ = p.rc.SetWriteDeadline(time.Now().Add(p.d)) }

func (p *progressWriter) WriteHeader(code int) {
	p.extend()
	p.ResponseWriter.WriteHeader(code)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.extend()
	return p.ResponseWriter.Write(b)
}

// Flush lets streamed responses (boot log) through.
func (p *progressWriter) Flush() {
	p.extend()
	_ = p.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
