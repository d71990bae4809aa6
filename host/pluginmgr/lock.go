package pluginmgr

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BinaryPrefix is the file name prefix of every backend plugin executable.
const BinaryPrefix = "molecule-backend-"

// DefaultLockName is the lock file's name inside the plugin directory.
const DefaultLockName = "plugins.lock"

// Check is the verification result for one plugin binary or one lock entry.
// Want is the digest the lock file lists ("" when unlisted), Got the digest
// of the file on disk ("" when missing). Problem says what is wrong when OK
// is false.
type Check struct {
	File    string
	Want    string
	Got     string
	OK      bool
	Problem string
}

// Digest returns the lowercase hex SHA-256 of the file at path.
func Digest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", path, err)
	}
	defer f.Close()
	sum, err := digest(f)
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", path, err)
	}
	return sum, nil
}

// digest hashes f from its current offset to its end.
func digest(f *os.File) (string, error) {
	h := sha256.New()
	// io.Copy would use os.File's WriteTo, whose generic path copies in
	// 32 KiB steps; a larger buffer halves the syscalls of a 20 MB binary.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, make([]byte, 256<<10)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unsafeError is a path the host refuses because a user other than root or
// the host's own could change it (see checkOwner).
type unsafeError struct{ err error }

func (e *unsafeError) Error() string { return e.err.Error() }

// openBinary opens the plugin binary at path, hashes what it opened and
// refuses it (an *unsafeError, with the digest still returned) when it is
// not a regular file or a user other than root or the host's own could
// change it. A binary that passes is returned open so that exactly the
// bytes hashed can be executed through the descriptor (see proc.command);
// the caller closes it.
func openBinary(path string) (*os.File, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", err
	}
	sum, err := digest(f)
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("digest %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		err = fmt.Errorf("plugin binary %s is not a regular file", path)
	} else {
		err = checkOwner("plugin binary "+path, fi, false)
	}
	if err != nil {
		f.Close()
		return nil, sum, &unsafeError{err}
	}
	return f, sum, nil
}

// ReadLock reads a lock file in sha256sum format ("<hex>  <file name>" per
// line; "<hex> *<file name>" is accepted too) and returns file name ->
// lowercase hex digest. Blank lines are skipped. A malformed line, a bad
// digest, a file name with a slash or a duplicate entry is an error naming
// the line number.
func ReadLock(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	defer f.Close()
	return parseLock(f, path)
}

// readTrustedLock is ReadLock refusing a lock file that a user other than
// root or the host's own could change; the file checked is the file read.
func readTrustedLock(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read lock file: %w", err)
	}
	if err := checkOwner("lock file "+path, fi, false); err != nil {
		return nil, err
	}
	return parseLock(f, path)
}

func parseLock(f *os.File, path string) (map[string]string, error) {
	out := make(map[string]string)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, sum, err := parseLockLine(line)
		if err != nil {
			return nil, fmt.Errorf("lock file %s line %d: %w", path, n, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("lock file %s line %d: %s is listed twice", path, n, name)
		}
		out[name] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read lock file %s: %w", path, err)
	}
	return out, nil
}

func parseLockLine(line string) (name, sum string, err error) {
	sum, rest, ok := strings.Cut(line, " ")
	if !ok || (!strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "*")) {
		return "", "", fmt.Errorf("want \"<sha256 hex>  <file name>\", got %q", line)
	}
	name = rest[1:]
	b, err := hex.DecodeString(sum)
	if err != nil || len(b) != sha256.Size {
		return "", "", fmt.Errorf("%q is not a sha256 hex digest", sum)
	}
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", "", fmt.Errorf("%q is not a plain file name", name)
	}
	return name, strings.ToLower(sum), nil
}

// WriteLock digests every molecule-backend-* binary in dir and writes the
// lock file (lockPath, or dir/plugins.lock when empty), sorted by name. The
// file is replaced atomically.
func WriteLock(dir, lockPath string) error {
	if lockPath == "" {
		lockPath = filepath.Join(dir, DefaultLockName)
	}
	names, err := discover(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, name := range names {
		sum, err := Digest(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	tmp, err := os.CreateTemp(filepath.Dir(lockPath), ".plugins.lock-*")
	if err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := os.Rename(tmp.Name(), lockPath); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// Verify checks every molecule-backend-* binary in dir against the lock file
// (lockPath, or dir/plugins.lock when empty) and returns one Check per binary
// or lock entry, sorted by file name. The error is non-nil when the lock
// file cannot be read or any check failed; it then joins every problem.
//
// Verify refuses, with an error naming the path and its mode or owner, a
// plugin directory (or any directory above it, or the lock file's
// directory) or a lock file that a user other than root or the host's own
// could change; a binary such a user could change fails its Check.
func Verify(dir, lockPath string) ([]Check, error) {
	checks, files, err := verify(dir, lockPath)
	for _, f := range files {
		f.Close()
	}
	return checks, err
}

// verify is Verify that also returns, by file name, each binary that passed
// still open: launching that descriptor runs exactly the bytes that were
// hashed, and the file is read once per launch. The caller closes them.
func verify(dir, lockPath string) ([]Check, map[string]*os.File, error) {
	if lockPath == "" {
		lockPath = filepath.Join(dir, DefaultLockName)
	}
	if err := checkTree("plugin directory", dir); err != nil {
		return nil, nil, err
	}
	if ld := filepath.Dir(lockPath); filepath.Clean(ld) != filepath.Clean(dir) {
		if err := checkTree("lock file directory", ld); err != nil {
			return nil, nil, err
		}
	}
	lock, err := readTrustedLock(lockPath)
	if err != nil {
		return nil, nil, err
	}
	names, err := discover(dir)
	if err != nil {
		return nil, nil, err
	}
	checks := make([]Check, 0, len(names))
	files := make(map[string]*os.File, len(names))
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		seen[name] = true
		c, f := checkBinary(dir, lockPath, name, lock)
		if f != nil {
			files[name] = f
		}
		checks = append(checks, c)
	}
	for name, want := range lock {
		if !seen[name] {
			checks = append(checks, Check{File: name, Want: want,
				Problem: fmt.Sprintf("%s is listed in lock file %s but missing from %s", name, lockPath, dir)})
		}
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].File < checks[j].File })
	var errs []error
	for _, c := range checks {
		if !c.OK {
			errs = append(errs, errors.New(c.Problem))
		}
	}
	return checks, files, errors.Join(errs...)
}

// checkBinary verifies one binary and, when it passes, returns it open.
func checkBinary(dir, lockPath, name string, lock map[string]string) (Check, *os.File) {
	c := Check{File: name, Want: lock[name]}
	f, got, err := openBinary(filepath.Join(dir, name))
	c.Got = got
	if err != nil {
		c.Problem = err.Error()
		return c, nil
	}
	switch {
	case c.Want == "":
		c.Problem = fmt.Sprintf("%s (sha256 %s) is not listed in lock file %s", name, got, lockPath)
	case c.Want != got:
		c.Problem = fmt.Sprintf("%s: sha256 mismatch: lock file %s wants %s, file has %s", name, lockPath, c.Want, got)
	default:
		c.OK = true
		return c, f
	}
	f.Close()
	return c, nil
}

// discover lists the plugin binaries in dir: regular files (symlinks
// followed) whose name starts with BinaryPrefix, sorted.
func discover(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read plugin directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), BinaryPrefix) {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		names = append(names, e.Name())
	}
	return names, nil
}
