//go:build !linux

package main

import "os/exec"

// setProcAttr does nothing where there is no parent-death signal; the
// harness still stops its children when it ends normally.
func setProcAttr(cmd *exec.Cmd) {}
