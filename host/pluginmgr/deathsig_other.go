//go:build !linux

package pluginmgr

import "syscall"

// deathSignal returns nil: only Linux has a parent-death signal; elsewhere
// the plugin's own parent watch (pluginrpc.Serve) ends it.
func deathSignal() *syscall.SysProcAttr { return nil }
