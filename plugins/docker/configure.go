package docker

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
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
// field per bad key (config.host, config.network, config.call_timeout, or
// the unknown key).
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
	s := &settings{host: os.Getenv("DOCKER_HOST"), network: NetworkHost, callTimeout: defaultCallTimeout}
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
		case "call_timeout":
			d, err := time.ParseDuration(v)
			if v != "" && (err != nil || d <= 0 || d > maxCallTimeout) {
				fields = append(fields, sdk.FieldError{Path: "config.call_timeout", Message: fmt.Sprintf("%q is not a duration between 1ms and %s, such as 30s", v, maxCallTimeout)})
			} else if v != "" {
				s.callTimeout = d
			}
		default:
			fields = append(fields, sdk.FieldError{Path: "config." + k, Message: fmt.Sprintf("unknown key %q; known keys are host, network, call_timeout", k)})
		}
	}
	return s, fields
}

func checkNetwork(v string) string {
	switch v {
	case "", NetworkHost:
		return ""
	case "bridge", "default", "none":
		return fmt.Sprintf("%q cannot be used: give \"host\" or the name of a network this backend creates (e.g. molecule-net)", v)
	}
	if !networkRE.MatchString(v) {
		return fmt.Sprintf("%q is not a valid Docker network name", v)
	}
	return ""
}
