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

// AlreadyDone reports whether srv shows that a has already happened (a
// destructive action whose earlier attempt was interrupted), and if so
// what to tell people.
func AlreadyDone(a Action, srv *bytemark.Server) (bool, string) {
	switch a.(type) {
	case Delete:
		if srv.Deleted {
			return true, fmt.Sprintf("%s is already deleted.", Code(a.Server()))
		}
	case Undelete:
		if !srv.Deleted {
			return true, fmt.Sprintf("%s is already undeleted.", Code(a.Server()))
		}
	}
	return false, ""
}
