//go:build !linux

package redistest

import "os/exec"

// setPdeathsig does nothing where the kernel cannot kill a child with its
// parent; the redis-server then outlives the tests.
func setPdeathsig(*exec.Cmd) {}
