package cplocal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// Instance states, EC2-like.
const (
	StatePending    = "pending"
	StateRunning    = "running"
	StateStopping   = "stopping"
	StateStopped    = "stopped"
	StateTerminated = "terminated"
)

// Instance is one workspace's instance as the API reports it and as
// state.json records it.
type Instance struct {
	InstanceID  string `json:"instance_id"`
	WorkspaceID string `json:"workspace_id"`
	OrgID       string `json:"org_id,omitempty"`
	Runtime     string `json:"runtime,omitempty"`
	Tier        int    `json:"tier,omitempty"`
	Image       string `json:"image,omitempty"`
	State       string `json:"state"`
	StateReason string `json:"state_reason,omitempty"`
	PrivateIP   string `json:"private_ip,omitempty"`
	// AgentPort is the port the agent serves A2A on at PrivateIP, set at
	// every boot; 0 for an instance booted by a control plane that gave
	// its agent a random port.
	AgentPort      int       `json:"agent_port,omitempty"`
	LaunchedAt     time.Time `json:"launched_at,omitzero"`
	UserDataSHA256 string    `json:"user_data_sha256,omitempty"`
	// LaunchSHA256 is the digest of the launch values (host URL, agent
	// token, heartbeat interval); internal, as they hold the token.
	LaunchSHA256 string `json:"launch_sha256,omitempty"`

	// UID is the uid (and gid) the instance's processes run as, its own
	// until it is terminated; 0 when instances get none of their own.
	// Internal.
	UID uint32 `json:"uid,omitempty"`
	// PID is the agent process while pending/running, 0 otherwise.
	PID int `json:"pid,omitempty"`
	// Boot counts boots; a boot goroutine acts only if it is still current.
	Boot int `json:"boot,omitempty"`
}

// public returns the instance without its internal fields.
func (i *Instance) public() Instance {
	c := *i
	c.PID, c.Boot, c.LaunchSHA256, c.UID = 0, 0, "", 0
	return c
}

const stateVersion = 1

type stateFile struct {
	Version   int         `json:"version"`
	Instances []*Instance `json:"instances"`
}

func newInstanceID() string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return "i-" + hex.EncodeToString(b[:])[:17]
}

// instanceDir is the instance's disk.
func (s *Server) instanceDir(id string) string {
	return filepath.Join(s.cfg.DataDir, "instances", id)
}

func (s *Server) statePath() string { return filepath.Join(s.cfg.DataDir, "state.json") }

// loadState reads state.json; a missing file is an empty CP.
func (s *Server) loadState() error {
	raw, err := os.ReadFile(s.statePath())
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("state file %s is not valid JSON: %w", s.statePath(), err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("state file %s has version %d, want %d", s.statePath(), st.Version, stateVersion)
	}
	for _, in := range st.Instances {
		s.insts[in.WorkspaceID] = in
	}
	return nil
}

// persistLocked writes state.json atomically (temp file, fsync, rename).
// The caller holds s.mu.
func (s *Server) persistLocked() error {
	st := stateFile{Version: stateVersion, Instances: make([]*Instance, 0, len(s.insts))}
	for _, in := range s.insts {
		st.Instances = append(st.Instances, in)
	}
	sort.Slice(st.Instances, func(a, b int) bool { return st.Instances[a].WorkspaceID < st.Instances[b].WorkspaceID })
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.statePath(), raw, 0o600, nil)
}

// writeFileAtomic writes path through a new temporary file beside it
// (fsynced, then renamed over path), owned by owner when set.
func writeFileAtomic(path string, data []byte, mode os.FileMode, owner *syscall.Credential) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if owner != nil {
		if err := tmp.Chown(int(owner.Uid), int(owner.Gid)); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// allocateIPLocked returns the lowest pool address no instance holds and
// on whose agent port nothing else listens (another control plane's
// instance, a leftover process), or false when there is none. The caller
// holds s.mu.
func (s *Server) allocateIPLocked() (string, bool) {
	used := map[string]bool{}
	for _, in := range s.insts {
		used[in.PrivateIP] = true
	}
	p := s.cfg.AddressPool
	for a := p.Addr().Next(); p.Contains(a); a = a.Next() {
		if !p.Contains(a.Next()) {
			break // the last address is the pool's broadcast address
		}
		if !used[a.String()] && portFree(a.String(), s.cfg.AgentPort) {
			return a.String(), true
		}
	}
	return "", false
}

// portFree reports whether ip:port can be listened on now.
func portFree(ip string, port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
