package cplocal

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultInstanceUser is who instances run as when the server runs as root
// and Config.InstanceUser is empty.
const DefaultInstanceUser = "nobody"

// instanceCredential resolves who instance processes run as: nil (the
// server's own user) when the server is not root, else the named user or
// uid:gid, never root. Code inside an instance is untrusted: as root it
// could write anywhere on the machine.
func instanceCredential(spec string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		if spec != "" {
			return nil, fmt.Errorf("instance user %q needs the control plane to run as root", spec)
		}
		return nil, nil
	}
	if spec == "" {
		spec = DefaultInstanceUser
	}
	var uid, gid uint64
	var err error
	if u, g, ok := strings.Cut(spec, ":"); ok {
		uid, err = strconv.ParseUint(u, 10, 32)
		if err == nil {
			gid, err = strconv.ParseUint(g, 10, 32)
		}
		if err != nil {
			return nil, fmt.Errorf("instance user %q is not a name or uid:gid", spec)
		}
	} else {
		u, lerr := user.Lookup(spec)
		if lerr != nil {
			return nil, fmt.Errorf("instance user %q: %w", spec, lerr)
		}
		uid, _ = strconv.ParseUint(u.Uid, 10, 32)
		gid, _ = strconv.ParseUint(u.Gid, 10, 32)
	}
	if uid == 0 || gid == 0 {
		return nil, fmt.Errorf("instance user %q must not be root (uid and gid must not be 0)", spec)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// reachable returns an error naming the first directory above path that
// the credential cannot search, or path itself when it cannot execute it
// and exec is set: an instance process changes to its directory and
// executes the agent after it has dropped to the instance user.
func reachable(cred *syscall.Credential, path string, exec bool) error {
	if exec {
		if err := permits(cred, path, path); err != nil {
			return err
		}
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if err := permits(cred, path, dir); err != nil {
			return err
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// permits checks the search (or execute) bit of p for the credential.
func permits(cred *syscall.Credential, path, p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	sys := st.Sys().(*syscall.Stat_t)
	bit := os.FileMode(0o001)
	switch {
	case sys.Uid == cred.Uid:
		bit = 0o100
	case sys.Gid == cred.Gid:
		bit = 0o010
	}
	if st.Mode().Perm()&bit == 0 {
		return fmt.Errorf("instance user %d:%d cannot reach %s: %s is mode %04o owned by %d:%d (let others search and execute it, e.g. chmod o+x, or use another path)",
			cred.Uid, cred.Gid, path, p, st.Mode().Perm(), sys.Uid, sys.Gid)
	}
	return nil
}

// giveToInstance makes path (created by the server) the instance user's,
// with mode; without a credential it only sets the mode.
func (s *Server) giveToInstance(path string, mode os.FileMode) error {
	if s.cred != nil {
		if err := os.Lchown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode)
}
