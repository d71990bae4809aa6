package store_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
	"github.com/molecule-ai/molecule-host/sdk"
)

// pgProxy forwards a unix socket to the test cluster's, so a test can cut
// the database off from a store.
type pgProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// mustProxy returns a DSN equal to dsn but reaching Postgres through a
// proxy, and the proxy.
func mustProxy(t *testing.T, dsn string) (string, *pgProxy) {
	t.Helper()
	m := regexp.MustCompile(`host=(\S+)`).FindStringSubmatch(dsn)
	if m == nil {
		t.Fatalf("no host= in %q", dsn)
	}
	socks, _ := filepath.Glob(filepath.Join(m[1], ".s.PGSQL.[0-9]*[0-9]"))
	if len(socks) != 1 {
		t.Fatalf("postgres sockets in %s: %v", m[1], socks)
	}
	dir, err := os.MkdirTemp("", "pgp") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, filepath.Base(socks[0])))
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", socks[0])
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return strings.Replace(dsn, m[0], "host="+dir, 1), p
}

// cut stops accepting and drops every connection: the database is gone.
func (p *pgProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestDatabaseOutageIsTransient: with the database unreachable, or the
// pool closed, store calls fail with KindTransient "the database is
// unavailable" (the API's 503 with Retry-After), never KindInternal.
func TestDatabaseOutageIsTransient(t *testing.T) {
	t.Parallel()
	dsn, proxy := mustProxy(t, storetest.DSN(t))
	s, err := store.Open(ctxT(t), dsn, store.Options{})
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	t.Cleanup(s.Close)
	ws, _ := mustCreate(t, s, "before-outage")
	proxy.cut()

	check := func(what string, err error) {
		t.Helper()
		var se *sdk.Error
		if !errors.As(err, &se) || se.Kind != sdk.KindTransient || se.Message != "the database is unavailable" {
			t.Errorf("%s during the outage: %v (%#v), want KindTransient \"the database is unavailable\"", what, err, se)
		}
	}
	_, err = s.GetWorkspace(ctxT(t), ws.ID)
	check("GetWorkspace", err)
	err = s.CreateWorkspace(ctxT(t), &host.Workspace{Name: "during-outage", Backend: "fake"}, &host.Operation{})
	check("CreateWorkspace", err)
	_, err = s.ListWorkspaces(ctxT(t), store.ListFilter{})
	check("ListWorkspaces", err)

	s.Close()
	_, err = s.GetWorkspace(ctxT(t), ws.ID)
	check("GetWorkspace on a closed store", err)
}
