// Package secretfile reads a secret from a file that only its owner may
// access: how every binary of this module takes a secret, since a command
// line is readable by every local user.
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrEmpty is wrapped by the error for a file holding only white space.
var ErrEmpty = errors.New("empty secret file")

// maxSize bounds a secret file; a token is a few dozen bytes.
const maxSize = 64 << 10

// Read returns the trimmed content of the file at path. The file is opened
// once and checked on that descriptor: a file group or others may access in
// any way (mode & 0o077), one that is not a regular file, or an empty or
// oversized one is refused with an error naming the path and saying how to
// fix it.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("secret file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("secret file %s has mode %04o: group or others have access to it; chmod 600 %s", path, perm, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	if len(raw) > maxSize {
		return "", fmt.Errorf("secret file %s is over %d bytes; it should hold one token", path, maxSize)
	}
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return "", fmt.Errorf("%w %s: write the secret into it", ErrEmpty, path)
	}
	return s, nil
}
