package pluginmgr

import (
	"os"
	"strconv"
)

// fdPath names the open file f for execve: the kernel resolves it in the
// child before close-on-exec descriptors are closed, so the child runs the
// very inode the host opened.
func fdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}
