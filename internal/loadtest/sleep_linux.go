package main

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// A sleeper waits for short, precise durations. The Go runtime's timers
// wake up to a millisecond late on Linux (epoll_wait's timeout is in
// milliseconds), which at thousands of requests per second would be much of
// the latency measured; a blocking nanosleep is precise but makes the
// runtime hand the thread's P over on every call, which costs more CPU than
// the requests. A timerfd, read through the runtime's poller, is both
// precise and cheap: epoll_wait returns as soon as it fires.
type sleeper struct {
	f  *os.File
	fd uintptr
}

func newSleeper() *sleeper {
	const clockMonotonic = 1
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return &sleeper{}
	}
	return &sleeper{f: os.NewFile(fd, "timerfd"), fd: fd}
}

// sleep waits for d, or until wake is called.
func (s *sleeper) sleep(d time.Duration) {
	if s.f == nil {
		time.Sleep(min(d, 100*time.Millisecond)) // the caller checks for cancellation
		return
	}
	if d <= 0 {
		return
	}
	// struct itimerspec { it_interval, it_value timespec }: one shot.
	spec := [4]int64{0, 0, int64(d / time.Second), int64(d % time.Second)}
	if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, s.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		time.Sleep(d)
		return
	}
	var buf [8]byte
	s.f.Read(buf[:]) // returns early with an error once wake is called
}

// wake ends the current sleep and every later one at once.
func (s *sleeper) wake() {
	if s.f != nil {
		s.f.SetReadDeadline(time.Unix(1, 0))
	}
}

func (s *sleeper) close() {
	if s.f != nil {
		s.f.Close()
	}
}
