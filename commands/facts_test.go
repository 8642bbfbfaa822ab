package commands

import (
	"testing"

	"github.com/bytebot/bytebot/bytemark"
)

// TestActionFacts: what the executor asks of an action (whether it only
// reads, which disc it names, whether it purges a server) for each kind.
func TestActionFacts(t *testing.T) {
	for _, c := range []struct {
		text         string
		readOnly     bool
		disc         string
		purgesServer bool
	}{
		{"list", true, "", false},
		{"show web1", true, "", false},
		{"discs web1", true, "", false},
		{"help", true, "", false},
		{"images", true, "", false},
		{"restart web1", false, "", false},
		{"delete web1", false, "", false},
		{"purge web1", false, "", true},
		{"disc purge web1 data", false, "data", false},
	} {
		a, err := Parse(c.text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.text, err)
		}
		if got := ReadOnly(a); got != c.readOnly {
			t.Errorf("ReadOnly(%q) = %v; want %v", c.text, got, c.readOnly)
		}
		if got := DiscOf(a); got != c.disc {
			t.Errorf("DiscOf(%q) = %q; want %q", c.text, got, c.disc)
		}
		if got := PurgesServer(a); got != c.purgesServer {
			t.Errorf("PurgesServer(%q) = %v; want %v", c.text, got, c.purgesServer)
		}
	}
}

// TestAlreadyDone: a delete of a deleted server and an undelete of a live
// one are already done; anything else is not.
func TestAlreadyDone(t *testing.T) {
	for _, c := range []struct {
		text    string
		deleted bool
		done    bool
	}{
		{"delete web1", true, true},
		{"delete web1", false, false},
		{"undelete web1", false, true},
		{"undelete web1", true, false},
		{"restart web1", true, false},
	} {
		a, err := Parse(c.text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.text, err)
		}
		done, msg := AlreadyDone(a, &bytemark.Server{Deleted: c.deleted})
		if done != c.done || done && msg == "" {
			t.Errorf("AlreadyDone(%q, deleted=%v) = %v, %q; want %v with a message", c.text, c.deleted, done, msg, c.done)
		}
	}
}
