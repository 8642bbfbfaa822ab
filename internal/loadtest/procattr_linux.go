package main

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the child die with the harness.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
