package commands

import (
	"fmt"
	"time"
)

// HumanDuration says d the way people say it: "45 seconds", "15 minutes",
// "an hour", "1 hour 30 minutes", "3 days"; never as Go prints it ("15m0s"). Under ten
// minutes it keeps the seconds, above that it rounds to the minute. Every
// message that shows a duration uses it (in Slack through slackui.Roughly).
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return "no time"
	case d < time.Second:
		return "a moment"
	case d < time.Minute:
		return count(int(d.Round(time.Second)/time.Second), "second")
	case d < 10*time.Minute:
		r := d.Round(time.Second)
		m, s := int(r/time.Minute), int(r%time.Minute/time.Second)
		if s == 0 {
			return count(m, "minute")
		}
		return fmt.Sprintf("%s %s", count(m, "minute"), count(s, "second"))
	}
	r := d.Round(time.Minute)
	switch {
	case r < time.Hour:
		return count(int(r/time.Minute), "minute")
	case r%day == 0:
		return count(int(r/day), "day")
	}
	h, m := int(r/time.Hour), int(r%time.Hour/time.Minute)
	if h == 1 && m == 0 {
		return "an hour" // "in an hour", "for over an hour"
	}
	if m == 0 {
		return count(h, "hour")
	}
	return fmt.Sprintf("%s %s", count(h, "hour"), count(m, "minute"))
}
