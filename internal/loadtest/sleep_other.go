//go:build !linux

package main

import "time"

// A sleeper waits for short durations (with the Go runtime's timer
// precision here).
type sleeper struct{}

func newSleeper() *sleeper               { return &sleeper{} }
func (s *sleeper) sleep(d time.Duration) { time.Sleep(min(d, 100*time.Millisecond)) }
func (s *sleeper) wake()                 {}
func (s *sleeper) close()                {}
