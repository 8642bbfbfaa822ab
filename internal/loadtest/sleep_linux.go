package main

import (
	"runtime"
	"syscall"
	"time"
)

// preciseSleep sleeps for d with the kernel's timer precision (tens of
// microseconds). The Go runtime's timers wake up to a millisecond late on
// Linux (epoll_wait's timeout is in milliseconds), which at thousands of
// requests per second would be most of the latency measured.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		if err := syscall.Nanosleep(&ts, &rem); err != syscall.EINTR {
			return
		}
		ts = rem
	}
}

// lockThread gives the scheduler an OS thread of its own, so that its
// blocking sleeps never hold up other goroutines.
func lockThread() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
