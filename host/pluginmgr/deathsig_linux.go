package pluginmgr

import "syscall"

// deathSignal makes the kernel SIGKILL the plugin when the host dies.
func deathSignal() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
