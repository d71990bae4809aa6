package cplocal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ProvisionRequest is the body of POST /cp/workspaces/provision.
type ProvisionRequest struct {
	OrgID       string `json:"org_id"`
	WorkspaceID string `json:"workspace_id"`
	Runtime     string `json:"runtime"`
	Tier        int    `json:"tier"`
	Image       string `json:"image,omitempty"`
	UserData    string `json:"user_data"`
	// The agent's identity and where to report, set by the CP on the
	// instance's environment (never through user data, which the agent
	// refuses to let set them).
	HostURL           string `json:"host_url,omitempty"`
	AgentToken        string `json:"agent_token,omitempty"`
	HeartbeatInterval string `json:"heartbeat_interval,omitempty"`
}

// launch is what the CP itself gives an instance's agent, kept on the
// instance's disk (readable by the CP only) for every boot.
type launch struct {
	HostURL           string `json:"host_url,omitempty"`
	AgentToken        string `json:"agent_token,omitempty"`
	HeartbeatInterval string `json:"heartbeat_interval,omitempty"`
}

func (p *ProvisionRequest) launch() launch {
	return launch{HostURL: p.HostURL, AgentToken: p.AgentToken, HeartbeatInterval: p.HeartbeatInterval}
}

// sha is the digest a provision compares to decide whether to reboot.
func (l launch) sha() string { raw, _ := json.Marshal(l); return sha(string(raw)) }

const maxUserData = 1 << 20

var (
	orgRE       = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	workspaceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
)

// validate checks the request and fills defaults; the error names the field.
func (p *ProvisionRequest) validate() error {
	switch {
	case !orgRE.MatchString(p.OrgID):
		return fmt.Errorf("org_id %q must be 1-63 characters of a-z, 0-9 and -", p.OrgID)
	case !workspaceRE.MatchString(p.WorkspaceID):
		return fmt.Errorf("workspace_id %q must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' and '-'", p.WorkspaceID)
	case p.Runtime == "" || len(p.Runtime) > 63:
		return fmt.Errorf("runtime %q must be 1-63 characters", p.Runtime)
	case p.Tier < 0 || p.Tier > 4:
		return fmt.Errorf("tier %d must be between 1 and 4", p.Tier)
	case p.UserData == "":
		return fmt.Errorf("user_data is required")
	case len(p.UserData) > maxUserData:
		return fmt.Errorf("user_data is %d bytes, more than the 1 MiB allowed", len(p.UserData))
	case p.HostURL != "" && !strings.HasPrefix(p.HostURL, "http://") && !strings.HasPrefix(p.HostURL, "https://") && !strings.HasPrefix(p.HostURL, "unix://"):
		return fmt.Errorf("host_url %q must be an http, https or unix URL", p.HostURL)
	case strings.ContainsAny(p.HostURL+p.AgentToken+p.HeartbeatInterval, "\x00\n"):
		return fmt.Errorf("host_url, agent_token and heartbeat_interval must not hold NUL or newline")
	}
	if p.HeartbeatInterval != "" {
		if d, err := time.ParseDuration(p.HeartbeatInterval); err != nil || d <= 0 {
			return fmt.Errorf("heartbeat_interval %q is not a positive Go duration such as 10s", p.HeartbeatInterval)
		}
	}
	if p.Tier == 0 {
		p.Tier = 2
	}
	return nil
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func (s *Server) handleProvision(w http.ResponseWriter, r *http.Request) {
	var req ProvisionRequest
	if !decode(w, r, &req) {
		return
	}
	if err := req.validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid provision request: "+err.Error()+".")
		return
	}
	unlock := s.lockWorkspace(req.WorkspaceID)
	defer unlock()
	s.mu.Lock()
	in, exists := s.insts[req.WorkspaceID]
	var cur Instance
	if exists {
		cur = *in
	}
	s.mu.Unlock()
	if !exists {
		s.launch(w, req)
		return
	}
	if cur.OrgID != req.OrgID {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("Workspace %s belongs to another org.", req.WorkspaceID))
		return
	}
	changed := cur.UserDataSHA256 != sha(req.UserData) || cur.LaunchSHA256 != req.launch().sha() ||
		cur.Runtime != req.Runtime || cur.Tier != req.Tier || cur.Image != req.Image
	switch {
	case changed:
		s.stopInstance(req.WorkspaceID, "")
		if err := s.writeDisk(cur, req); err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "Could not store the user data: "+err.Error()+".")
			return
		}
		s.consoleLine(cur.InstanceID, "rebooting with new user data sha256=%s", sha(req.UserData))
		writeJSON(w, http.StatusOK, s.boot(req.WorkspaceID, func(in *Instance) {
			in.Runtime, in.Tier, in.Image, in.UserDataSHA256 = req.Runtime, req.Tier, req.Image, sha(req.UserData)
			in.LaunchSHA256 = req.launch().sha()
		}))
	case cur.State == StateStopped:
		writeJSON(w, http.StatusOK, s.boot(req.WorkspaceID, nil))
	default:
		writeJSON(w, http.StatusOK, cur.public())
	}
}

// launch creates a new instance for req and boots it asynchronously.
func (s *Server) launch(w http.ResponseWriter, req ProvisionRequest) {
	s.mu.Lock()
	ip, ipOK := s.allocateIPLocked()
	uid, uidOK := s.allocateUIDLocked()
	in := &Instance{InstanceID: newInstanceID(), WorkspaceID: req.WorkspaceID, OrgID: req.OrgID, Runtime: req.Runtime,
		Tier: req.Tier, Image: req.Image, State: StatePending, PrivateIP: ip, AgentPort: s.cfg.AgentPort, LaunchedAt: time.Now().UTC(),
		UserDataSHA256: sha(req.UserData), LaunchSHA256: req.launch().sha(), UID: uid}
	if ipOK && uidOK {
		s.insts[in.WorkspaceID] = in // reserves the address and the uid
	}
	s.mu.Unlock()
	switch {
	case !ipOK:
		writeError(w, http.StatusTooManyRequests, "capacity", fmt.Sprintf("No private address is free in the pool %s (with port %d free on it).", s.cfg.AddressPool, s.cfg.AgentPort))
		return
	case !uidOK:
		writeError(w, http.StatusTooManyRequests, "capacity", fmt.Sprintf("No instance uid is free in the range %s.", s.users.uids))
		return
	}
	err := s.makeDisk(in.InstanceID)
	if err == nil {
		err = s.writeDisk(*in, req)
	}
	if err != nil {
		s.mu.Lock()
		delete(s.insts, in.WorkspaceID)
		s.mu.Unlock()
		os.RemoveAll(s.instanceDir(in.InstanceID))
		writeError(w, http.StatusInternalServerError, "internal", "Could not create the instance's disk: "+err.Error()+".")
		return
	}
	s.log.Info("launched instance", "instance_id", in.InstanceID, "workspace_id", in.WorkspaceID, "private_ip", ip, "uid", uid, "user_data_sha256", in.UserDataSHA256)
	writeJSON(w, http.StatusCreated, s.boot(in.WorkspaceID, nil))
}

// makeDisk creates the instance's disk, a directory of the CP's: the
// instance may search it but list nothing and write nothing in it, so it
// cannot plant a link where the CP writes. prepareDisk fills it.
func (s *Server) makeDisk(instanceID string) error {
	return os.Mkdir(s.instanceDir(instanceID), 0o700)
}

// writeDisk stores the provision's user data (0600, the instance user's)
// and launch values (0600, the CP's) on the instance's disk.
func (s *Server) writeDisk(in Instance, req ProvisionRequest) error {
	dir := s.instanceDir(in.InstanceID)
	cred, err := s.credFor(in)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, userDataFile), []byte(req.UserData), 0o600, cred); err != nil {
		return err
	}
	raw, err := json.Marshal(req.launch())
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, launchFile), raw, 0o600, nil)
}

// readLaunch reads the launch values of the instance's disk; a disk from
// before they were kept there has none.
func (s *Server) readLaunch(instanceID string) (launch, error) {
	var l launch
	raw, err := os.ReadFile(filepath.Join(s.instanceDir(instanceID), launchFile))
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err == nil {
		err = json.Unmarshal(raw, &l)
	}
	return l, err
}

// boot marks the instance pending (after update, if set), persists it and
// boots it asynchronously. The caller holds the workspace lock.
func (s *Server) boot(workspaceID string, update func(*Instance)) Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.insts[workspaceID]
	if update != nil {
		update(in)
	}
	in.State, in.StateReason, in.PID, in.AgentPort = StatePending, "", 0, s.cfg.AgentPort
	in.Boot++
	if err := s.persistLocked(); err != nil {
		s.log.Error("persist state", "err", err)
	}
	s.bootAsync(workspaceID, in.Boot)
	return in.public()
}

// bootAsync starts boot number gen of the workspace's instance in the
// background, like a cloud instance that answers pending at once. A boot
// that is no longer current when it runs does nothing.
func (s *Server) bootAsync(workspaceID string, gen int) {
	s.boots.Add(1)
	go func() {
		defer s.boots.Done()
		unlock := s.lockWorkspace(workspaceID)
		defer unlock()
		s.mu.Lock()
		in, ok := s.insts[workspaceID]
		if !ok || in.State != StatePending || in.Boot != gen {
			s.mu.Unlock()
			return
		}
		cur := *in
		s.mu.Unlock()
		s.consoleLine(cur.InstanceID, "booting instance %s (boot %d, runtime %s, private ip %s)", cur.InstanceID, gen, cur.Runtime, cur.PrivateIP)
		pid, err := 0, s.prepareDisk(cur)
		switch {
		case err != nil:
		case s.failBoot(cur.Runtime):
			err = fmt.Errorf("injected fault for runtime %s", cur.Runtime)
		default:
			pid, err = s.spawn(cur, func(pid int, werr error) { s.exited(workspaceID, pid, werr) })
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			in.State, in.StateReason = StateStopped, "boot failed: "+err.Error()
			s.consoleLine(cur.InstanceID, "boot failed: %v", err)
		} else {
			in.State, in.PID = StateRunning, pid
		}
		if err := s.persistLocked(); err != nil {
			s.log.Error("persist state", "err", err)
		}
	}()
}

// exited records that an instance's process ended on its own.
func (s *Server) exited(workspaceID string, pid int, werr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.insts[workspaceID]
	if !ok || in.PID != pid || (in.State != StateRunning && in.State != StatePending) {
		return // an intended stop or terminate, which records its own state
	}
	reason := "exit status 0"
	if werr != nil {
		reason = werr.Error()
	}
	in.State, in.StateReason, in.PID = StateStopped, "instance process exited: "+reason, 0
	s.consoleLine(in.InstanceID, "instance process exited: %s", reason)
	if err := s.persistLocked(); err != nil {
		s.log.Error("persist state", "err", err)
	}
}

// prepareDisk readies the instance's disk for a boot: the disk searchable
// by the instance user, the user data and a home directory (kept across
// boots) the instance user's, and an empty config directory of the instance
// user's, so the agent finds exactly the files of the current user data (a
// file removed from the config does not linger from an earlier boot).
func (s *Server) prepareDisk(in Instance) error {
	dir := s.instanceDir(in.InstanceID)
	mode := os.FileMode(0o700)
	if s.users != nil {
		mode = 0o711
	}
	configs, home := filepath.Join(dir, configsDir), filepath.Join(dir, homeDir)
	cred, err := s.credFor(in)
	if err == nil {
		err = os.Chmod(dir, mode)
	}
	if err == nil {
		err = giveToInstance(cred, filepath.Join(dir, userDataFile), 0o600)
	}
	if err == nil {
		err = os.RemoveAll(configs)
	}
	for _, d := range []string{configs, home} {
		if err == nil {
			if err = os.Mkdir(d, 0o700); errors.Is(err, fs.ErrExist) && d == home {
				err = nil
			}
		}
		if err == nil {
			err = giveToInstance(cred, d, 0o700)
		}
	}
	if err != nil {
		return fmt.Errorf("prepare the instance's disk: %w", err)
	}
	return nil
}
