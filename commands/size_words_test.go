package commands

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestSizeWords: "too small" and "too big" quote the size as it was typed
// and give the limits in the one style (1 GiB, 2 TiB); the sizes help
// shows as examples are ones every size argument accepts.
func TestSizeWords(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"disc add web1 data 0.5", "`0.5` is smaller than the smallest disc, 1 GiB."},
		{"disc add web1 data 100M", "`100M` is smaller than the smallest disc, 1 GiB."},
		{"disc resize web1 data 3T", "`3T` is bigger than the largest disc, 2 TiB."},
		{"create new1 disc 0.5:ssd", "`0.5` is smaller than the smallest disc, 1 GiB."},
		{"resize web1 memory 256M", "`256M` is less memory than a server can have; the least is 512 MiB."},
		{"resize web1 memory 0.25", "`0.25` is less memory"},
	} {
		_, err := Parse(tt.in)
		var u *UsageError
		if !errors.As(err, &u) || !strings.Contains(u.Msg, tt.want) {
			t.Errorf("Parse(%q) = %v; want a usage error containing %q", tt.in, err, tt.want)
		}
	}
	sizes := regexp.MustCompile("Sizes look like ([^;.]*)")
	code := regexp.MustCompile("`([^`]+)`")
	for _, topic := range []string{"", "disc", "disc add", "disc resize", "create", "resize"} {
		m := sizes.FindStringSubmatch(HelpText(topic))
		if m == nil {
			continue
		}
		for _, ex := range code.FindAllStringSubmatch(m[1], -1) {
			for _, text := range []string{"disc add web1 data " + ex[1], "resize web1 memory " + ex[1], "create new1 disc " + ex[1]} {
				if _, err := Parse(text); err != nil {
					t.Errorf("help(%q) gives the size example %s, but %q is refused: %v", topic, ex[1], text, err)
				}
			}
		}
	}
}
