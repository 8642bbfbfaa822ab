package commands

import (
	"fmt"
	"strings"

	"github.com/bytebot/bytebot/bytemark"
)

// Facts about actions that the executor acts on: whether an action only
// reads, which disc it names, whether it purges a whole server, and whether
// a server already shows it done.

// ReadOnly reports whether a only reads: it changes no server and needs no
// lock.
func ReadOnly(a Action) bool {
	switch a.Name() {
	case "list", "show", "discs", "help", "approvals", "audit", "images":
		return true
	}
	return false
}

// DiscOf returns the disc a acts on alone, or "" when it acts on a whole
// server.
func DiscOf(a Action) string {
	if d, ok := a.(DiscPurge); ok {
		return d.Label
	}
	return ""
}

// PurgesServer reports whether a purges a whole server (so a server that is
// not found may be one that is already purged).
func PurgesServer(a Action) bool {
	_, ok := a.(Purge)
	return ok
}

// AlreadyDone reports whether srv shows that a has already happened, and
// if so what to tell people: a sentence naming the server. The executor
// asks it on a retry (an earlier attempt was interrupted) and before it
// opens an approval ticket; the power actions and undelete ask it before
// they send anything, so that asking for what is already so is answered
// plainly and sends nothing to the API.
func AlreadyDone(a Action, srv *bytemark.Server) (bool, string) {
	name := Code(displayName(a.Server(), srv))
	switch a.(type) {
	case Delete:
		if srv.Deleted {
			return true, fmt.Sprintf("%s is already deleted.", name)
		}
	case Undelete:
		if !srv.Deleted {
			return true, fmt.Sprintf("%s isn't deleted, so there is nothing to undelete.", name)
		}
	case Start:
		if srv.PowerOn && !srv.Deleted {
			return true, fmt.Sprintf("%s is already on.", name)
		}
	case Stop, Shutdown:
		if !srv.PowerOn && !srv.Deleted {
			return true, fmt.Sprintf("%s is already off.", name)
		}
	case Reset:
		if !srv.PowerOn && !srv.Deleted {
			return true, fmt.Sprintf("%s is already off, so there is nothing to reset; `/bytemark start %s` starts it.", name, safe(displayName(a.Server(), srv)))
		}
	}
	return false, ""
}

// A Fact is what an action does to its server, in words for the people
// who approve it and as the state it leaves the server in: one table
// (facts) for the approval dialog and the finished card.
type Fact struct {
	// Does says what happens, after "This ": "%s" is the server.
	Does string
	// Undo says how to undo it, or what can't be undone, when there is
	// something to say.
	Undo string
	// Final is true when it destroys data for good.
	Final bool
	// Power is the server's power after it ("on", "off"); "" unchanged.
	Power string
	// State is the server after it: StateDeleted, StateLive or StateGone;
	// "" unchanged.
	State string
	// DiscGone is true when it destroys the disc the action names (DiscOf).
	DiscGone bool
}

// States of a server after an action (Fact.State).
const (
	StateDeleted = "deleted" // soft-deleted: undelete brings it back
	StateLive    = "live"    // not deleted
	StateGone    = "gone"    // purged: nothing is left
)

// facts holds the facts, by action name; actions that change nothing
// (reads) have none.
var facts = map[string]Fact{
	"start":    {Does: "powers on %s.", Undo: "`stop` or `shutdown` turns it off again.", Power: "on"},
	"stop":     {Does: "powers off %s at once, like pulling the plug: whatever it hasn't written to disc is lost.", Undo: "`start` powers it on again.", Power: "off"},
	"restart":  {Does: "shuts %s down cleanly and starts it again; it is unreachable meanwhile.", Power: "on"},
	"reset":    {Does: "sends %s the hardware reset signal, like its reset button: whatever it hasn't written to disc is lost.", Power: "on"},
	"shutdown": {Does: "shuts %s down cleanly and leaves it off.", Undo: "`start` powers it on again.", Power: "off"},
	"reboot":   {Does: "reboots %s; it is unreachable meanwhile.", Power: "on"},
	"rescue":   {Does: "restarts %s into the rescue system, once.", Undo: "Its next restart boots it normally.", Power: "on"},
	"delete":   {Does: "deletes %s: it is powered off and set aside with its discs.", Undo: "It can be undone: `undelete` brings it back, until it is purged.", Power: "off", State: StateDeleted},
	"undelete": {Does: "brings %s back from deletion (powered off).", Undo: "`delete` sets it aside again.", State: StateLive},
	"purge":    {Does: "purges %s: the server and all its discs are destroyed.", Undo: "It can't be undone: its data is gone for good.", Final: true, State: StateGone},
	"disc purge": {Does: "destroys a disc of %s and everything on it.", Undo: "It can't be undone: the disc's data is gone for good.",
		Final: true, DiscGone: true},
	"reimage": {Does: "wipes the first disc of %s and installs a fresh operating system.", Undo: "It can't be undone: what was on that disc is gone for good.",
		Final: true, Power: "on"},
	"disc add":    {Does: "adds a disc to %s.", Undo: "`disc purge` removes it again, with its data."},
	"disc resize": {Does: "grows a disc of %s.", Undo: "A disc can't be made smaller again."},
	"resize":      {Does: "changes the cores or memory of %s.", Undo: "`resize` changes them back."},
	"rename":      {Does: "renames %s.", Undo: "`rename` changes the name back."},
	"move":        {Does: "moves %s to another group (a running server is shut down and started again).", Undo: "`move` takes it back."},
	"create":      {Does: "creates the new server %s.", Undo: "`delete` and `purge` remove it again."},
}

// FactOf returns what a does to its server (the zero Fact for a read).
func FactOf(a Action) Fact { return facts[a.Name()] }

// Consequence says in a sentence or two what running a will do and
// whether it can be undone, for the dialog that confirms an approval.
func Consequence(a Action) string {
	e := FactOf(a)
	if e.Does == "" {
		return fmt.Sprintf("This runs %s.", Code(a.String()))
	}
	s := "This " + fmt.Sprintf(e.Does, Code(a.Server()))
	if d := DiscOf(a); d != "" {
		s = "This " + fmt.Sprintf(strings.Replace(e.Does, "a disc of", "disc "+Code(d)+" of", 1), Code(a.Server()))
	}
	if e.Undo != "" {
		s += " " + e.Undo
	}
	return s
}
