package cplocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"time"
)

// Config is what a Server needs. DataDir, SharedSecret, AdminToken and
// AgentPath are required.
type Config struct {
	// DataDir holds state.json and one directory per instance (its disk).
	DataDir string
	// SharedSecret is the bearer token of the workspace routes.
	SharedSecret string
	// AdminToken is the bearer token of the /cp/admin routes.
	AdminToken string
	// AgentPath is the molecule-agent binary every instance runs.
	AgentPath string
	// InstanceUIDs is the range each instance gets a uid (and the same
	// gid) of its own from, when the server runs as root: no two instances
	// share one, so none can read another's process environment or files.
	// No user, group or subordinate id range of the machine may lie in it.
	// Zero means DefaultInstanceUIDs, unless InstanceUser is set; a server
	// that is not root runs instances as itself and must leave it zero.
	InstanceUIDs UIDRange
	// InstanceUser, a user name or uid:gid (never root), makes every
	// instance run as that one user instead of a uid of its own: weaker, as
	// instances of one uid can read each other's environment (their agent
	// tokens) and user data. It excludes InstanceUIDs; a server that is not
	// root must leave it empty.
	InstanceUser string
	// AgentPort is the TCP port every instance's agent serves A2A on, on
	// the instance's own private IP. Zero means DefaultAgentPort.
	AgentPort int
	// AddressPool is where instances' private IPs come from; it must lie
	// inside 127.0.0.0/8. Zero means DefaultAddressPool.
	AddressPool netip.Prefix
	// StopGrace is how long a stop waits after SIGTERM before SIGKILL.
	// Zero means DefaultStopGrace.
	StopGrace time.Duration
	// Faults are the initial fault knobs.
	Faults Faults
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// Defaults for Config.
var (
	DefaultAddressPool = netip.MustParsePrefix("127.0.1.0/24")
	DefaultStopGrace   = 5 * time.Second
	// DefaultInstanceUIDs is far above the ids distributions give users
	// and system accounts.
	DefaultInstanceUIDs = UIDRange{First: 200000, Last: 265535}
)

// DefaultAgentPort is the port instances' agents serve on: each instance
// has an IP of its own, so one port fits all.
const DefaultAgentPort = 8000

var loopback = netip.MustParsePrefix("127.0.0.0/8")

func (c *Config) check() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	if c.SharedSecret == "" {
		errs = append(errs, errors.New("shared secret is required"))
	}
	if c.AdminToken == "" {
		errs = append(errs, errors.New("admin token is required"))
	}
	if c.SharedSecret != "" && c.SharedSecret == c.AdminToken {
		errs = append(errs, errors.New("admin token must differ from the shared secret"))
	}
	if c.AgentPath == "" {
		errs = append(errs, errors.New("agent path is required"))
	}
	if !c.AddressPool.IsValid() {
		c.AddressPool = DefaultAddressPool
	}
	c.AddressPool = c.AddressPool.Masked()
	if !c.AddressPool.Addr().Is4() || !loopback.Contains(c.AddressPool.Addr()) || c.AddressPool.Bits() < 8 || c.AddressPool.Bits() > 30 {
		errs = append(errs, fmt.Errorf("address pool %s must be an IPv4 prefix inside 127.0.0.0/8 of /8 to /30", c.AddressPool))
	}
	if c.AgentPort == 0 {
		c.AgentPort = DefaultAgentPort
	}
	if c.AgentPort < 1 || c.AgentPort > 65535 {
		errs = append(errs, fmt.Errorf("agent port %d must be between 1 and 65535", c.AgentPort))
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if err := c.Faults.check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Faults are the fault-injection knobs, settable at start and at runtime
// through POST /cp/admin/faults.
type Faults struct {
	// Latency delays every workspace-route answer.
	Latency time.Duration
	// ErrorRate is the fraction (0-1) of workspace-route requests answered
	// 503, half of them after the request took effect.
	ErrorRate float64
	// FailBoot is a runtime name whose instances fail to boot, or a rate
	// 0-1 of boots that fail; empty means none.
	FailBoot string
}

func (f Faults) check() error {
	if f.Latency < 0 {
		return fmt.Errorf("latency %s must not be negative", f.Latency)
	}
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return fmt.Errorf("error rate %v must be between 0 and 1", f.ErrorRate)
	}
	if r, err := strconv.ParseFloat(f.FailBoot, 64); err == nil && (r < 0 || r > 1) {
		return fmt.Errorf("fail-boot rate %v must be between 0 and 1", r)
	}
	return nil
}

// failBootRate returns the rate FailBoot names, or ok=false when it names a
// runtime.
func (f Faults) failBootRate() (float64, bool) {
	r, err := strconv.ParseFloat(f.FailBoot, 64)
	return r, err == nil
}

type faultsWire struct {
	Latency   string  `json:"latency"`
	ErrorRate float64 `json:"error_rate"`
	FailBoot  string  `json:"fail_boot"`
}

// MarshalJSON writes the faults as in docs/cp-api.md.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsWire{Latency: f.Latency.String(), ErrorRate: f.ErrorRate, FailBoot: f.FailBoot})
}

// UnmarshalJSON reads the faults as in docs/cp-api.md; latency is a Go
// duration string.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var d time.Duration
	if w.Latency != "" {
		var err error
		if d, err = time.ParseDuration(w.Latency); err != nil {
			return fmt.Errorf("latency %q is not a Go duration such as 200ms", w.Latency)
		}
	}
	*f = Faults{Latency: d, ErrorRate: w.ErrorRate, FailBoot: w.FailBoot}
	return nil
}
