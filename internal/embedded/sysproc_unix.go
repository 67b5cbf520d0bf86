//go:build unix && !linux

package embedded

import "syscall"

// sysProcAttr puts a server in its own process group, so terminal signals
// reach huifang, which stops the servers in order. Outside Linux there is no
// parent-death signal: a server outlives a huifang that is killed with
// SIGKILL and must be stopped by hand.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
