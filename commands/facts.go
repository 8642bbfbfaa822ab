package commands

import (
	"fmt"

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
