package embedded

import "syscall"

// sysProcAttr puts a server in its own process group (so terminal signals
// reach huifang, which stops the servers in order) and has the kernel
// SIGKILL it if huifang dies without stopping it. Go sets the parent-death
// signal after switching credentials, which would otherwise clear it.
//
// The parent-death signal fires when the OS thread that started the child
// exits; the Go runtime keeps threads alive unless a goroutine locked to one
// exits, so do not start servers from such a goroutine.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}
