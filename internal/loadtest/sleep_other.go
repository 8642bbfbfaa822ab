//go:build !linux

package main

import "time"

// preciseSleep sleeps for d (with the Go runtime's timer precision here).
func preciseSleep(d time.Duration) { time.Sleep(d) }

func lockThread() func() { return func() {} }
