package commands

import (
	"strings"
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

// TestConsequence: the approval dialog's words fit the action: what
// happens, and whether (and how) it can be undone.
func TestConsequence(t *testing.T) {
	for _, c := range []struct {
		text      string
		want, not []string
	}{
		{"purge web1", []string{"purges `web1`", "can't be undone", "gone for good"}, nil},
		{"disc purge web1 data", []string{"disc `data`", "can't be undone"}, nil},
		{"reimage web1 bookworm", []string{"wipes the first disc", "can't be undone"}, nil},
		{"delete web1", []string{"deletes", "`undelete` brings it back"}, []string{"can't be undone"}},
		{"stop web1", []string{"powers off", "pulling the plug", "`start` powers it on again"}, []string{"can't be undone"}},
		{"restart web1", []string{"shuts", "starts it again"}, []string{"can't be undone"}},
	} {
		a, err := Parse(c.text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.text, err)
		}
		got := Consequence(a)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("Consequence(%q) = %q; want %q in it", c.text, got, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(got, w) {
				t.Errorf("Consequence(%q) = %q; want no %q", c.text, got, w)
			}
		}
	}
	// Every action that changes a server has its facts; reads have none.
	for _, text := range []string{"start web1", "stop web1", "restart web1", "reset web1", "shutdown web1", "reboot web1",
		"delete web1", "undelete web1", "purge web1", "disc add web1 data 25G", "disc resize web1 data 50G", "disc purge web1 data",
		"resize web1 cores 2", "rename web1 www1", "move web1 staging", "create new1", "reimage web1 bookworm", "rescue web1"} {
		a, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		if FactOf(a).Does == "" {
			t.Errorf("%q has no facts", text)
		}
	}
	if a, _ := Parse("show web1"); FactOf(a) != (Fact{}) {
		t.Errorf("show has facts: %+v", FactOf(a))
	}
}
