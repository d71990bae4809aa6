package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// ApplyUserData applies the agentapi.UserData JSON file named by
// $MOLECULE_USER_DATA, if set: it sets every variable of its env with setenv,
// then writes its config files into the config directory (read from getenv,
// default /configs), creating parent directories. Files already in the
// directory and not named by the user data are kept. It reports whether
// user data was applied.
//
// User data is what the workspace's owner controls; it may not set a
// variable the launcher owns (agentapi.UserDataEnvRefused): such user data
// is refused with an error naming the variable, before any variable is set
// or any file written.
func ApplyUserData(getenv func(string) string, setenv func(k, v string) error) (bool, error) {
	file := getenv(agentapi.EnvUserDataFile)
	if file == "" {
		return false, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return false, fmt.Errorf("read user data %s: %w", file, err)
	}
	var ud agentapi.UserData
	if err := json.Unmarshal(raw, &ud); err != nil {
		return false, fmt.Errorf("user data %s is not valid JSON: %w", file, err)
	}
	keys := make([]string, 0, len(ud.Env))
	for k := range ud.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var refused []string
	for _, k := range keys {
		if agentapi.UserDataEnvRefused(k) {
			refused = append(refused, k)
		}
	}
	if len(refused) > 0 {
		return false, fmt.Errorf("user data %s may not set %s: the launcher owns it (MOLECULE_* and LD_* variables are refused)", file, strings.Join(refused, ", "))
	}
	for _, k := range keys {
		if err := setenv(k, ud.Env[k]); err != nil {
			return false, fmt.Errorf("user data env %s: %w", k, err)
		}
	}
	dir := getenv(agentapi.EnvConfigDir)
	if dir == "" {
		dir = DefaultConfigDir
	}
	return true, WriteConfigDir(dir, ud.ConfigFiles)
}

// WriteConfigDir writes files (slash-separated paths relative to dir) into
// dir, creating dir and parent directories. A path that is absolute or
// leaves dir is an error naming it, and so is a path through a symlink:
// every component is opened relative to its parent without following
// links, so a link planted in dir cannot redirect a write.
func WriteConfigDir(dir string, files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		clean := path.Clean(p)
		if p == "" || path.IsAbs(p) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("config path %q must be relative and stay inside the config directory", p)
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	root, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	defer root.Close()
	sort.Strings(paths)
	for _, p := range paths {
		if err := writeBeneath(int(root.Fd()), path.Clean(p), files[p]); err != nil {
			return fmt.Errorf("write config %s: %w", p, err)
		}
	}
	return nil
}

// writeBeneath writes content to rel (clean, relative, slash-separated)
// beneath the directory dirfd, creating parents, following no symlink.
func writeBeneath(dirfd int, rel string, content []byte) error {
	parts := strings.Split(rel, "/")
	fd := dirfd
	defer func() {
		if fd != dirfd {
			syscall.Close(fd)
		}
	}()
	for _, dirName := range parts[:len(parts)-1] {
		err := syscall.Mkdirat(fd, dirName, 0o755)
		if err != nil && !errors.Is(err, syscall.EEXIST) {
			return err
		}
		next, err := syscall.Openat(fd, dirName, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			return noFollowErr(dirName, err)
		}
		if fd != dirfd {
			syscall.Close(fd)
		}
		fd = next
	}
	name := parts[len(parts)-1]
	ffd, err := syscall.Openat(fd, name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return noFollowErr(name, err)
	}
	f := os.NewFile(uintptr(ffd), rel)
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("%s exists and is not a regular file", name)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// noFollowErr explains the errors O_NOFOLLOW and O_DIRECTORY give for a
// symlink.
func noFollowErr(name string, err error) error {
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s is a symlink or not a directory; config files are not written through links", name)
	}
	return err
}
