//go:build !linux

package chserver

import (
	"os"
	"syscall"
)

// sysProcAttr: outside Linux there is no parent-death signal; the server
// outlives a riskpipe that is killed with SIGKILL.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func terminate(p *os.Process) error { return p.Signal(os.Interrupt) }
func kill(p *os.Process) error      { return p.Kill() }
