// Command probe runs inside a workspace container and tries what untrusted
// workspace code would try against the host: sniff traffic with raw
// sockets, connect to the host's loopback services, call the host's API
// over the agent directory's host socket, reach another workspace's agent
// socket, write outside its writable places. It prints one JSON line per
// check:
//
//	{"attack": "...", "succeeded": false, "detail": "..."}  must fail
//	{"sanity": "...", "succeeded": true, "detail": "..."}   must succeed
//	{"fact": "...", "detail": "..."}                         uid, caps, limits
//
// and exits 0 whatever the results: the test judges them. It is built
// statically from the standard library only (internal/probetest builds it
// into an image). Flags are repeatable:
//
//	-tcp host:port   a host service that must be unreachable
//	-get /path       an HTTP path on the host socket that must not answer 2xx
//	-sock /path      a unix socket (not this workspace's) that must not connect
//	-token T         the bearer token -get presents (not repeatable)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// result is one line of output.
type result struct {
	Attack    string `json:"attack,omitempty"`
	Sanity    string `json:"sanity,omitempty"`
	Fact      string `json:"fact,omitempty"`
	Succeeded bool   `json:"succeeded"`
	Detail    string `json:"detail"`
}

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

var out = json.NewEncoder(os.Stdout)

func attack(name string, err error, detail string) {
	emit(result{Attack: name, Succeeded: err == nil, Detail: detailOf(err, detail)})
}

func sanity(name string, err error, detail string) {
	emit(result{Sanity: name, Succeeded: err == nil, Detail: detailOf(err, detail)})
}

func fact(name, detail string) { emit(result{Fact: name, Detail: detail}) }

func emit(r result) {
	if err := out.Encode(r); err != nil {
		os.Exit(2)
	}
}

func detailOf(err error, detail string) string {
	if err != nil {
		return err.Error()
	}
	return detail
}

func main() {
	var tcp, gets, socks list
	dir := flag.String("dir", "/run/molecule", "the agent directory as mounted in the workspace")
	flag.Var(&tcp, "tcp", "host:port of a host service that must be unreachable (repeatable)")
	flag.Var(&gets, "get", "path to GET on the host socket; a 2xx answer is a successful attack (repeatable)")
	flag.Var(&socks, "sock", "unix socket path that must not be reachable (repeatable)")
	token := flag.String("token", "", "bearer token to present on -get calls (e.g. a leaked admin token)")
	flag.Parse()

	rawSockets()
	for _, addr := range tcp {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err == nil {
			c.Close()
		}
		attack("tcp connect "+addr, err, "connected")
	}
	hostSocket(filepath.Join(*dir, "host.sock"), *token, gets)
	agentDir(*dir, socks)
	writes()
	facts()
}

// rawSockets tries to open the sockets a sniffer needs.
func rawSockets() {
	for _, s := range []struct {
		name        string
		domain, typ int
		proto       int
	}{
		{"raw socket AF_PACKET", syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(syscall.ETH_P_ALL))},
		{"raw socket AF_INET", syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_TCP},
	} {
		fd, err := syscall.Socket(s.domain, s.typ, s.proto)
		if err == nil {
			syscall.Close(fd)
		}
		attack(s.name, err, "opened")
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// hostSocket calls each path on the host socket. Reaching the socket at
// all is a sanity check, so a refused attack means the host refused it.
func hostSocket(sock, token string, paths []string) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	for _, p := range paths {
		req, err := http.NewRequest(http.MethodGet, "http://host"+p, nil)
		if err != nil {
			sanity("host socket answers GET "+p, err, "")
			continue
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			sanity("host socket answers GET "+p, err, "")
			attack("host socket GET "+p, err, "")
			continue
		}
		resp.Body.Close()
		sanity("host socket answers GET "+p, nil, resp.Status)
		var refused error
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			refused = fmt.Errorf("answered %s", resp.Status)
		}
		attack("host socket GET "+p, refused, resp.Status)
	}
}

// agentDir lists the agent directory and tries the given sockets.
func agentDir(dir string, socks []string) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if err != nil {
		fact("agent dir", err.Error())
	} else {
		fact("agent dir", strings.Join(names, ","))
	}
	for _, s := range socks {
		c, err := net.DialTimeout("unix", s, 3*time.Second)
		if err == nil {
			c.Close()
		}
		attack("unix connect "+s, err, "connected")
	}
}

// writes tries to create a file in each place: the read-only ones must
// refuse, the writable ones must not.
func writes() {
	for _, d := range []string{"/", "/configs", "/etc", "/run/molecule/.."} {
		attack("write "+d, tryWrite(d), "written")
	}
	for _, d := range []string{"/workspace", "/tmp"} {
		sanity("write "+d, tryWrite(d), "written")
	}
}

func tryWrite(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(dir, fmt.Sprintf(".probe-%d", os.Getpid()))
	if err := os.WriteFile(p, []byte("probe"), 0o644); err != nil {
		return err
	}
	return os.Remove(p)
}

// facts reports who the probe runs as and its limits.
func facts() {
	fact("uid", fmt.Sprint(os.Getuid()))
	fact("gid", fmt.Sprint(os.Getgid()))
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fact("status", err.Error())
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "CapEff" || k == "CapPrm" || k == "CapBnd" || k == "NoNewPrivs") {
			fact(k, strings.TrimSpace(v))
		}
	}
	for _, p := range []string{"/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"} {
		if b, err := os.ReadFile(p); err == nil {
			fact("pids.max", strings.TrimSpace(string(b)))
			return
		}
	}
	fact("pids.max", "not found")
}
