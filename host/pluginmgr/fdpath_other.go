//go:build !linux

package pluginmgr

import (
	"os"
	"strconv"
)

// fdPath names the open file f for execve through the fdescfs /dev/fd.
func fdPath(f *os.File) string {
	return "/dev/fd/" + strconv.Itoa(int(f.Fd()))
}
