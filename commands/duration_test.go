package commands

import (
	"testing"
	"time"
)

// TestHumanDuration: durations are said the way people say them, never
// as Go prints them ("15m0s").
func TestHumanDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "no time"},
		{300 * time.Millisecond, "a moment"},
		{time.Second, "1 second"},
		{45 * time.Second, "45 seconds"},
		{time.Minute, "1 minute"},
		{90 * time.Second, "1 minute 30 seconds"},
		{15 * time.Minute, "15 minutes"},
		{15*time.Minute + 400*time.Millisecond, "15 minutes"},
		{14*time.Minute + 59*time.Second + 600*time.Millisecond, "15 minutes"},
		{12*time.Minute + 31*time.Second, "13 minutes"},
		{time.Hour, "an hour"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{2 * time.Hour, "2 hours"},
		{72 * time.Hour, "3 days"},
		{25 * time.Hour, "25 hours"},
	} {
		if got := HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}
