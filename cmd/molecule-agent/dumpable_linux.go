package main

import "syscall"

// hideFromSameUser marks the agent non-dumpable: its /proc files (environ
// with the agent token, mem, fd) then belong to root, so other processes of
// the same uid (another workspace's code on a shared machine) cannot read
// them, and it cannot be ptrace-attached. The runtimes the agent executes
// are dumpable again after their exec and hold no token.
func hideFromSameUser() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
