package pluginmgr

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Who may change what the host executes: a plugin binary, the lock file,
// the plugin directory and every directory above it must be owned by root
// or by the host's own user and must not be writable by group or others.
// Anyone else who could write one of them could make the host run their
// code, so such a tree is refused before anything in it is read.

// checkOwner refuses a file or directory that a user other than root or
// the host's own could change; name says what it is and where, fi
// describes it. stickyOK accepts a
// group- or world-writable directory with the sticky bit (such as /tmp),
// where others cannot rename or remove what they do not own; it is meant
// for the directories above the plugin directory.
func checkOwner(name string, fi os.FileInfo, stickyOK bool) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := int(st.Uid); uid != 0 && uid != os.Geteuid() {
			return fmt.Errorf("%s is owned by uid %d, not by root or the host's uid %d: refusing to use it", name, uid, os.Geteuid())
		}
	}
	mode := fi.Mode()
	if mode.Perm()&0o022 == 0 || (stickyOK && mode.IsDir() && mode&os.ModeSticky != 0) {
		return nil
	}
	return fmt.Errorf("%s is writable by group or others (mode %s): refusing to use it", name, modeString(mode))
}

// modeString prints a mode as ls does and in octal, e.g. "drwxrwxrwx 0777".
func modeString(m os.FileMode) string {
	oct := m.Perm()
	if m&os.ModeSticky != 0 {
		oct |= 0o1000
	}
	return fmt.Sprintf("%s %04o", m, uint32(oct))
}

// checkTree refuses dir (label says what it is, e.g. "plugin directory")
// when it, or any directory above it up to /, could be changed by a user
// other than root and the host's own (see checkOwner). Both the path as
// given and the path with symlinks resolved are walked: a symlinked
// component could be swapped by whoever can write the directory holding
// the link. It costs a dozen stat calls.
func checkTree(label, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", label, dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	for _, leaf := range []string{abs, real} {
		for d := leaf; ; d = filepath.Dir(d) {
			fi, err := os.Stat(d)
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			name := label + " " + d
			if d != leaf {
				name = fmt.Sprintf("directory %s (above %s %s)", d, label, leaf)
			}
			if err := checkOwner(name, fi, d != leaf); err != nil {
				return err
			}
			if d == filepath.Dir(d) {
				break
			}
		}
		if real == abs {
			break
		}
	}
	return nil
}
