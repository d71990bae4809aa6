package cp

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Version is the plugin's version.
const Version = "0.1.0"

// Configuration keys.
const (
	ConfigURL            = "url"
	ConfigSharedSecret   = "shared_secret"
	ConfigAdminToken     = "admin_token"
	ConfigOrgID          = "org_id"
	ConfigRequestTimeout = "request_timeout"
	ConfigMaxRetries     = "max_retries"
)

// Backend is the control-plane backend. Create it with New; it answers
// every verb but Manifest with sdk.NotConfigured until Configure succeeds.
type Backend struct {
	mu  sync.RWMutex
	cli *client // nil until configured
}

// New returns an unconfigured Backend.
func New() *Backend { return &Backend{} }

// Interface guards.
var (
	_ sdk.Backend     = (*Backend)(nil)
	_ sdk.LogStreamer = (*Backend)(nil)
)

// client returns the configured client or the not-configured error for op.
func (b *Backend) client(op string) (*client, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.cli == nil {
		return nil, sdk.NotConfigured(op)
	}
	return b.cli, nil
}

// Manifest declares the backend; it does not depend on Configure.
func (b *Backend) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{
		Name:            "cp",
		Version:         Version,
		ProtocolVersion: sdk.ProtocolVersion,
		Description:     "EC2-like instances launched through a control plane's HTTP API, booted from user data.",
		Features:        features,
		Config: []sdk.ConfigField{
			{Name: ConfigURL, Type: sdk.ConfigURL, Required: true, Description: "Base URL of the control plane, e.g. http://127.0.0.1:7070."},
			{Name: ConfigSharedSecret, Type: sdk.ConfigString, Required: true, Secret: true, Description: "Bearer token of the control plane's workspace routes."},
			{Name: ConfigAdminToken, Type: sdk.ConfigString, Required: true, Secret: true, Description: "Bearer token of the control plane's admin routes (console)."},
			{Name: ConfigOrgID, Type: sdk.ConfigString, Default: "local", Description: "Org tag of every instance this host launches; orphan sweeps list by it."},
			{Name: ConfigRequestTimeout, Type: sdk.ConfigDuration, Default: "10s", Description: "Timeout of one HTTP attempt."},
			{Name: ConfigMaxRetries, Type: sdk.ConfigInt, Default: "4", Description: "Retries after a transport error, 429 or 5xx, with exponential backoff and jitter."},
		},
	}, nil
}

var features = map[string]sdk.Feature{
	sdk.FeatureCreate:         {Note: "CP provision: one instance per workspace id, idempotent; boots asynchronously from user data"},
	sdk.FeatureStart:          {Note: "CP provision of the existing instance: starts it, or reboots it when the user data changed"},
	sdk.FeatureStop:           {Note: "CP stop: SIGTERM/stop of the instance, which is kept with its disk and private IP"},
	sdk.FeatureRestart:        {Note: "CP stop then provision with the config from the database as new user data"},
	sdk.FeatureDelete:         {Note: "CP terminate: instance and disk deleted; idempotent, HTTP status checked"},
	sdk.FeatureStatus:         {Note: "one batched CP status call (up to 1000 workspaces per request)"},
	sdk.FeatureReady:          {Note: "agent register + config hash boot event"},
	sdk.FeatureConfigDelivery: {Note: "config files and env in user data, applied by the agent after boot (cloud-init style)", Attributes: map[string]string{sdk.AttrConfigDelivery: "async"}},
	sdk.FeatureBootLog:        {Note: "EC2-style console output via the CP"},
	sdk.FeatureOrphans:        {Note: "CP list of instances by org tag"},
}

var orgRE = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)

// Configure validates and applies the configuration. It returns KindInvalid
// with one field per offending key; a failed Configure keeps the previous
// configuration.
func (b *Backend) Configure(_ context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	c, err := parseConfig(req.Config)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.cli = newClient(c)
	b.mu.Unlock()
	return &sdk.ConfigureResponse{}, nil
}

// config is a validated configuration.
type config struct {
	base           *url.URL
	sharedSecret   string
	adminToken     string
	orgID          string
	requestTimeout time.Duration
	maxRetries     int
}

func parseConfig(m map[string]string) (config, error) {
	c := config{orgID: "local", requestTimeout: 10 * time.Second, maxRetries: 4}
	var fields []sdk.FieldError
	bad := func(key, msg string) { fields = append(fields, sdk.FieldError{Path: "config." + key, Message: msg}) }
	known := map[string]bool{ConfigURL: true, ConfigSharedSecret: true, ConfigAdminToken: true, ConfigOrgID: true, ConfigRequestTimeout: true, ConfigMaxRetries: true}
	for k := range m {
		if !known[k] {
			bad(k, "unknown key; the cp backend accepts url, shared_secret, admin_token, org_id, request_timeout and max_retries")
		}
	}
	if u, err := url.Parse(m[ConfigURL]); m[ConfigURL] == "" {
		bad(ConfigURL, "is required: the control plane's base URL")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(ConfigURL, fmt.Sprintf("%q is not an http(s) URL such as http://127.0.0.1:7070", m[ConfigURL]))
	} else {
		c.base = u
	}
	if c.sharedSecret = m[ConfigSharedSecret]; c.sharedSecret == "" {
		bad(ConfigSharedSecret, "is required")
	}
	if c.adminToken = m[ConfigAdminToken]; c.adminToken == "" {
		bad(ConfigAdminToken, "is required")
	}
	if v, ok := m[ConfigOrgID]; ok && v != "" {
		if !orgRE.MatchString(v) {
			bad(ConfigOrgID, fmt.Sprintf("%q must be 1-63 characters of a-z, 0-9 and -", v))
		}
		c.orgID = v
	}
	if v := m[ConfigRequestTimeout]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(ConfigRequestTimeout, fmt.Sprintf("%q is not a positive Go duration such as 10s", v))
		}
		c.requestTimeout = d
	}
	if v := m[ConfigMaxRetries]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10 {
			bad(ConfigMaxRetries, fmt.Sprintf("%q must be an integer from 0 to 10", v))
		}
		c.maxRetries = n
	}
	if len(fields) > 0 {
		return c, sdk.Invalid("configure", "The cp backend's configuration is invalid.", fields...)
	}
	return c, nil
}
