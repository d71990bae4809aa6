package cplocal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// UIDRange is an inclusive range of uids; the zero UIDRange is unset.
type UIDRange struct {
	First, Last uint32
}

// ParseUIDRange reads "first-last", for example "200000-265535".
func ParseUIDRange(s string) (UIDRange, error) {
	f, l, ok := strings.Cut(s, "-")
	first, err1 := strconv.ParseUint(f, 10, 32)
	last, err2 := strconv.ParseUint(l, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return UIDRange{}, fmt.Errorf("uid range %q is not first-last, such as %s", s, DefaultInstanceUIDs)
	}
	return UIDRange{First: uint32(first), Last: uint32(last)}, nil
}

func (r UIDRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// IsZero reports whether the range is unset.
func (r UIDRange) IsZero() bool { return r == UIDRange{} }

func (r UIDRange) contains(id uint32) bool { return id >= r.First && id <= r.Last }

// instanceUsers is who instance processes run as when the server is root:
// one shared user, or else a uid of the range per instance.
type instanceUsers struct {
	shared *syscall.Credential
	uids   UIDRange
}

// instanceUsersFor resolves Config.InstanceUser and InstanceUIDs: nil (the
// server's own user) when the server is not root. Code inside an instance
// is untrusted: as root it could write anywhere on the machine, and as the
// uid of another instance it could read that instance's token.
func instanceUsersFor(spec string, uids UIDRange) (*instanceUsers, error) {
	if os.Geteuid() != 0 {
		if spec != "" || !uids.IsZero() {
			return nil, errors.New("an instance user or uid range needs the control plane to run as root")
		}
		return nil, nil
	}
	if spec != "" {
		if !uids.IsZero() {
			return nil, fmt.Errorf("instance user %q and instance uids %s exclude each other: give one", spec, uids)
		}
		cred, err := sharedCredential(spec)
		return &instanceUsers{shared: cred}, err
	}
	if uids.IsZero() {
		uids = DefaultInstanceUIDs
	}
	if uids.First == 0 || uids.Last < uids.First || uids.Last == ^uint32(0) {
		return nil, fmt.Errorf("instance uids %s must be a range of uids above 0 (and below 4294967295), first to last", uids)
	}
	if err := unusedIDs(uids); err != nil {
		return nil, err
	}
	return &instanceUsers{uids: uids}, nil
}

// sharedCredential resolves a user name or uid:gid, never root.
func sharedCredential(spec string) (*syscall.Credential, error) {
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

// unusedIDs refuses a range holding the id of a user or group of the
// machine, or overlapping its subordinate ids (which rootless containers
// map their users to): an instance of that uid could read their files or
// processes, and they its.
func unusedIDs(r UIDRange) error {
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		err := eachLine(f, func(fields []string) error {
			if len(fields) < 3 {
				return nil
			}
			if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil && r.contains(uint32(id)) {
				return fmt.Errorf("instance uids %s hold id %d of %q in %s: choose a range no user or group has", r, id, fields[0], f)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		err := eachLine(f, func(fields []string) error {
			if len(fields) < 3 {
				return nil
			}
			start, err1 := strconv.ParseUint(fields[1], 10, 32)
			n, err2 := strconv.ParseUint(fields[2], 10, 32)
			if err1 == nil && err2 == nil && n > 0 && start <= uint64(r.Last) && start+n-1 >= uint64(r.First) {
				return fmt.Errorf("instance uids %s overlap the subordinate ids %d-%d of %q in %s: choose another range", r, start, start+n-1, fields[0], f)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachLine calls fn with the colon-separated fields of every line of file;
// a missing file has none.
func eachLine(file string, fn func([]string) error) error {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if err := fn(strings.Split(sc.Text(), ":")); err != nil {
			return err
		}
	}
	return sc.Err()
}

// credFor returns the credential in's process runs as: nil for the server's
// own user, never root.
func (s *Server) credFor(in Instance) (*syscall.Credential, error) {
	switch {
	case s.users == nil:
		return nil, nil
	case s.users.shared != nil:
		return s.users.shared, nil
	case in.UID == 0:
		return nil, fmt.Errorf("instance %s has no uid of its own (no uid of %s was free)", in.InstanceID, s.users.uids)
	}
	return &syscall.Credential{Uid: in.UID, Gid: in.UID, Groups: []uint32{}}, nil
}

// allocateUIDLocked returns the lowest uid of the range no instance holds
// (an instance keeps its uid until it is terminated), or false when none is
// free. It returns 0 and true when instances get no uid of their own. The
// caller holds s.mu.
func (s *Server) allocateUIDLocked() (uint32, bool) {
	if s.users == nil || s.users.shared != nil {
		return 0, true
	}
	used := map[uint32]bool{}
	for _, in := range s.insts {
		used[in.UID] = true
	}
	r := s.users.uids
	for id := uint64(r.First); id <= uint64(r.Last); id++ {
		if !used[uint32(id)] {
			return uint32(id), true
		}
	}
	return 0, false
}

// killUID kills every process of the instance's own uid but the caller's:
// what its agent started may have left its process group, and must not
// outlive it (nor meet the next holder of the uid). It does nothing when
// instances share a user. kill(-1) run as the uid reaches exactly its
// processes, atomically with respect to their forks.
func (s *Server) killUID(in Instance) error {
	if s.users == nil || s.users.shared != nil || in.UID == 0 {
		return nil
	}
	cred, err := s.credFor(in)
	if err != nil {
		return err
	}
	cmd := exec.Command("/bin/sh", "-c", "kill -KILL -1 2>/dev/null; exit 0")
	cmd.Dir, cmd.Env = "/", []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kill the processes of uid %d: %v: %s", in.UID, err, out)
	}
	return nil
}

// reachable returns an error naming the first directory above path that
// the credential (nil: any uid of the range, which owns nothing there)
// cannot search, or path itself when it cannot execute it and exec is set:
// an instance process changes to its directory and executes the agent
// after it has dropped to its user.
func (u *instanceUsers) reachable(path string, exec bool) error {
	if exec {
		if err := u.permits(path, path); err != nil {
			return err
		}
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if err := u.permits(path, dir); err != nil {
			return err
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// permits checks the search (or execute) bit of p for the instance users:
// the owner's or group's bit for a shared user that owns p or is in its
// group, the others' bit otherwise (and always for a uid range).
func (u *instanceUsers) permits(path, p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	sys := st.Sys().(*syscall.Stat_t)
	bit, who := os.FileMode(0o001), "instance uids "+u.uids.String()
	if c := u.shared; c != nil {
		who = fmt.Sprintf("instance user %d:%d", c.Uid, c.Gid)
		switch {
		case sys.Uid == c.Uid:
			bit = 0o100
		case sys.Gid == c.Gid:
			bit = 0o010
		}
	}
	if st.Mode().Perm()&bit == 0 {
		return fmt.Errorf("%s cannot reach %s: %s is mode %04o owned by %d:%d (let others search and execute it, e.g. chmod o+x, or use another path)",
			who, path, p, st.Mode().Perm(), sys.Uid, sys.Gid)
	}
	return nil
}

// giveToInstance makes path (created by the server) the user's of cred,
// with mode; without a credential it only sets the mode.
func giveToInstance(cred *syscall.Credential, path string, mode os.FileMode) error {
	if cred != nil {
		if err := os.Lchown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode)
}
