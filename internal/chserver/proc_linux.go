//go:build linux

package chserver

import (
	"os"
	"syscall"
)

// sysProcAttr puts the server in its own process group (so a terminal's
// Ctrl-C reaches riskpipe, which stops the server in order) and has the
// kernel kill it when riskpipe dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// terminate and kill signal the server's whole process group.
func terminate(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGTERM) }
func kill(p *os.Process) error      { return syscall.Kill(-p.Pid, syscall.SIGKILL) }
