package docker

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
)

const (
	defaultHost        = client.DefaultDockerHost
	defaultCallTimeout = 30 * time.Second
	maxCallTimeout     = 10 * time.Minute
)

// networkRE is Docker's rule for network names.
var networkRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// Configure validates the configuration and replaces the current one. It
// never contacts the daemon, so a host starts without Docker; the verbs
// report an unreachable daemon as KindTransient. Returns KindInvalid with a
// field per bad key (config.host, config.network, config.user,
// config.call_timeout, or the unknown key).
func (b *Backend) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	s, fields := parseSettings(req.Config)
	if len(fields) > 0 {
		return nil, sdk.Invalid("configure", "The Docker backend's configuration is invalid.", fields...)
	}
	cli, err := client.New(client.WithHost(s.host))
	if err != nil {
		return nil, sdk.Invalid("configure", "The Docker backend's configuration is invalid.",
			sdk.FieldError{Path: "config.host", Message: fmt.Sprintf("%q is not a usable Docker endpoint: %v", s.host, err)})
	}
	s.cli = cli
	b.mu.Lock()
	old := b.cfg
	b.cfg = s
	b.mu.Unlock()
	if old != nil && old.cli != nil {
		_ = old.cli.Close()
	}
	return &sdk.ConfigureResponse{}, nil
}

func parseSettings(cfg map[string]string) (*settings, []sdk.FieldError) {
	s := &settings{host: os.Getenv("DOCKER_HOST"), network: NetworkNone, user: DefaultUser, callTimeout: defaultCallTimeout}
	if s.host == "" {
		s.host = defaultHost
	}
	var fields []sdk.FieldError
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := cfg[k]
		switch k {
		case "host":
			if v != "" {
				if _, err := client.ParseHostURL(v); err != nil {
					fields = append(fields, sdk.FieldError{Path: "config.host", Message: fmt.Sprintf("%q is not a Docker endpoint such as unix:///var/run/docker.sock: %v", v, err)})
				}
				s.host = v
			}
		case "network":
			if msg := checkNetwork(v); msg != "" {
				fields = append(fields, sdk.FieldError{Path: "config.network", Message: msg})
			} else if v != "" {
				s.network = v
			}
		case "user":
			if msg := checkUser(v); msg != "" {
				fields = append(fields, sdk.FieldError{Path: "config.user", Message: msg})
			} else if v != "" {
				s.user = v
			}
		case "call_timeout":
			d, err := time.ParseDuration(v)
			if v != "" && (err != nil || d <= 0 || d > maxCallTimeout) {
				fields = append(fields, sdk.FieldError{Path: "config.call_timeout", Message: fmt.Sprintf("%q is not a duration between 1ms and %s, such as 30s", v, maxCallTimeout)})
			} else if v != "" {
				s.callTimeout = d
			}
		default:
			fields = append(fields, sdk.FieldError{Path: "config." + k, Message: fmt.Sprintf("unknown key %q; known keys are host, network, user, call_timeout", k)})
		}
	}
	return s, fields
}

func checkNetwork(v string) string {
	switch v {
	case "", NetworkNone:
		return ""
	case "host":
		return `"host" is refused: host networking puts workspace code in the host's network namespace, where it can reach the host's loopback services and sniff their traffic (tokens included); use "none" (the default) or the name of an egress network this backend creates (e.g. molecule-egress)`
	case "bridge", "default":
		return fmt.Sprintf("%q cannot be used: Docker's default bridge lets workspaces reach each other; use \"none\" (the default) or the name of an egress network this backend creates (e.g. molecule-egress)", v)
	}
	if !networkRE.MatchString(v) {
		return fmt.Sprintf("%q is not a valid Docker network name", v)
	}
	return ""
}

// checkUser accepts "uid:gid" in numbers, neither of them 0: a workspace
// never runs as root or in the root group.
func checkUser(v string) string {
	if v == "" {
		return ""
	}
	uid, gid, ok := strings.Cut(v, ":")
	u, uerr := strconv.ParseUint(uid, 10, 31)
	g, gerr := strconv.ParseUint(gid, 10, 31)
	if !ok || uerr != nil || gerr != nil {
		return fmt.Sprintf("%q is not uid:gid in numbers, such as %s", v, DefaultUser)
	}
	if u == 0 || g == 0 {
		return fmt.Sprintf("%q is refused: workspaces never run as root (uid 0) or in the root group (gid 0)", v)
	}
	return ""
}
