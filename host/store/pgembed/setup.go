package pgembed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// findBinDir returns the directory holding initdb and postgres.
func findBinDir(dir string) (string, error) {
	if dir == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
		for _, d := range dirs {
			if isExec(filepath.Join(d, "postgres")) {
				dir = d
				break
			}
		}
	}
	if dir == "" {
		p, err := exec.LookPath("postgres")
		if err != nil {
			return "", fmt.Errorf("pgembed: PostgreSQL is not installed: no postgres binary in /usr/lib/postgresql/*/bin or on PATH")
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			resolved = p
		}
		dir = filepath.Dir(resolved)
	}
	for _, name := range []string{"initdb", "postgres"} {
		if !isExec(filepath.Join(dir, name)) {
			return "", fmt.Errorf("pgembed: PostgreSQL is not installed: %s not found in %s", name, dir)
		}
	}
	return dir, nil
}

// pgMajor returns the major version in a /usr/lib/postgresql/<v>/bin path.
func pgMajor(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// prepareDirs creates the data and socket directories and, when running as
// root, hands them to the postgres user and returns its credential.
func prepareDirs(s *Server) (*syscall.Credential, error) {
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("pgembed: data dir: %w", err)
	}
	s.sockDir = filepath.Join(s.cfg.DataDir, "run")
	if len(s.sockDir) > maxSocketPath {
		tmp, err := os.MkdirTemp("", "pg")
		if err != nil {
			return nil, fmt.Errorf("pgembed: socket dir: %w", err)
		}
		s.cfg.Logger.Info("socket dir path too long for a unix socket; using a short one",
			"wanted", s.sockDir, "using", tmp)
		s.sockDir, s.tempDir = tmp, tmp
	} else if err := os.MkdirAll(s.sockDir, 0o755); err != nil {
		return nil, fmt.Errorf("pgembed: socket dir: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgembed: running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range []string{s.cfg.DataDir, s.sockDir} {
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, fmt.Errorf("pgembed: chown %s: %w", d, err)
		}
		if err := ensureTraversable(d, s); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(s.pgdata); err == nil && fi.IsDir() {
		if err := os.Chown(s.pgdata, uid, gid); err != nil {
			return nil, fmt.Errorf("pgembed: chown %s: %w", s.pgdata, err)
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// ensureTraversable makes sure the postgres user can reach dir: ancestors
// under os.TempDir without the search bit for others get it (0711-style,
// no listing); any other unreachable ancestor is an error naming it.
func ensureTraversable(dir string, s *Server) error {
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		if fi.Mode().Perm()&0o001 != 0 {
			continue
		}
		if !strings.HasPrefix(d, tmp+"/") {
			return fmt.Errorf("pgembed: the postgres user cannot reach %s: directory %s is not searchable by others (chmod o+x it or choose another data dir)", dir, d)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
			return fmt.Errorf("pgembed: make %s searchable: %w", d, err)
		}
		s.cfg.Logger.Info("made a temp directory searchable for the postgres user", "dir", d)
	}
	return nil
}

// initdb creates the cluster unless it exists.
func (s *Server) initdb(ctx context.Context, cred *syscall.Credential) error {
	if _, err := os.Stat(filepath.Join(s.pgdata, "PG_VERSION")); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, "initdb"), "-D", s.pgdata, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	if s.cfg.Fast {
		cmd.Args = append(cmd.Args, "--no-sync")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	cmd.Env = childEnv(s.cfg.DataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgembed: initdb %s: %w: %s", s.pgdata, err, strings.TrimSpace(string(out)))
	}
	s.cfg.Logger.Info("initialised a postgres cluster", "data", s.pgdata)
	return nil
}

// removeStalePID removes postmaster.pid when the process it names is not a
// running postgres (its pid may have been reused by an unrelated process,
// which postgres itself would take for a live server).
func removeStalePID(pgdata string) error {
	path := filepath.Join(pgdata, "postmaster.pid")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return os.Remove(path)
	}
	// A server whose owner was just killed gets SIGKILL from the kernel
	// (Pdeathsig) but may take a moment to go; wait for it, bounded.
	deadline := time.Now().Add(staleWait)
	for livePostgres(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pgembed: another postgres (pid %d) is running on %s", pid, pgdata)
		}
		time.Sleep(50 * time.Millisecond) // polling a process we do not own; no event to wait on
	}
	return os.Remove(path)
}

// removeStaleSocketLocks removes socket lock files (and their sockets) left
// by a server that is gone. A server killed with its owner can linger as a
// zombie nobody reaps for a while; postgres would take the zombie's pid in
// the lock file for a live server and refuse to start.
func removeStaleSocketLocks(sockDir string) {
	locks, _ := filepath.Glob(filepath.Join(sockDir, ".s.PGSQL.*.lock"))
	for _, lock := range locks {
		data, err := os.ReadFile(lock)
		if err != nil {
			continue
		}
		first, _, _ := strings.Cut(string(data), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && livePostgres(pid) {
			continue
		}
		_ = os.Remove(lock)
		_ = os.Remove(strings.TrimSuffix(lock, ".lock"))
	}
}

// staleWait bounds how long Start waits for a dying previous server.
const staleWait = 15 * time.Second

// livePostgres reports whether pid is a postgres process that is not a
// zombie.
func livePostgres(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// defaultPath is the PATH of initdb and postgres when the host has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// childEnv is the whole environment of initdb and postgres: PATH, HOME in
// the data dir (the postgres user's home may not be readable), LANG (only
// the programs' own messages; the cluster's locale is initdb --locale) and
// the host's TZ when set (initdb takes the cluster's default time zone from
// it). Nothing else of the host's environment reaches them: not its tokens
// or database URL (MOLECULE_*), not a PG* variable that would redirect them.
func childEnv(dataDir string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	env := []string{"PATH=" + path, "HOME=" + dataDir, "LANG=C.UTF-8"}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}
