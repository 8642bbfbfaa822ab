package commands

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// A Policy says which actions need approval before they run.
type Policy struct {
	// ApprovalActions holds the command names (Action.Name, e.g. "delete",
	// "disc resize") that need approval, besides the destructive ones.
	ApprovalActions map[string]bool
}

// NeedsApproval reports whether a needs approval: destructive actions (the
// purges) always do, others as configured. The configured names are matched
// against what a does (Effects), not only the word typed: with "stop"
// configured, `reboot web1 cycle` needs approval too.
func (p Policy) NeedsApproval(a Action) bool {
	return a.Destructive() || p.Why(a) != ""
}

// Why returns the configured name that makes a need approval (one of
// Effects(a)), or "" if none does.
func (p Policy) Why(a Action) string {
	for _, name := range Effects(a) {
		if p.ApprovalActions[name] {
			return name
		}
	}
	return ""
}

// effects is what an action does where that is more than its own name, as
// the names of the commands it amounts to. It is the one table that
// approval rules are matched on. The key is the command name and, for
// reboot, its method.
var effects = map[string][]string{
	"reboot " + RebootCycle:    {"stop", "start"}, // pulls the plug, then starts
	"reboot " + RebootReset:    {"reset"},
	"reboot " + RebootGraceful: {"restart"},
	// The server commands: those that take a running server down and
	// bring it up again amount to a restart too (shutdown, then start).
	// Not reimage: it always needs approval, by its own name, and its
	// restart adds no gate (a rule for restarts would only refuse it).
	"resize restart": {"restart"},
	"move":           {"restart"},
	"rescue":         {"restart"},
}

// Effects returns what a does, as command names: its own name first, then
// those of the commands it amounts to (`reboot web1 cycle` is reboot, stop
// and start). Rules that say which actions need approval match on these.
func Effects(a Action) []string {
	if m, ok := a.(Many); ok && m.Action != nil {
		a = m.Action // many servers: each does what the one action does
	}
	key := a.Name()
	if r, ok := a.(Reboot); ok {
		key += " " + cmp.Or(r.Method, RebootGraceful)
	}
	if r, ok := a.(Resize); ok && r.Restart {
		key += " restart"
	}
	return append([]string{a.Name()}, effects[key]...)
}

// ParsePolicy parses APPROVAL_ACTIONS: a comma-separated list of command
// names that change servers, e.g. "delete,stop,disc resize". Case and
// extra spaces don't matter; "" and "none" mean only the purges.
func ParsePolicy(csv string) (Policy, error) {
	p := Policy{ApprovalActions: map[string]bool{}}
	if strings.EqualFold(strings.TrimSpace(csv), "none") {
		return p, nil
	}
	for _, item := range strings.Split(csv, ",") {
		name := strings.ToLower(strings.Join(strings.Fields(item), " "))
		if name == "" {
			continue
		}
		c := lookup(name)
		switch {
		case c == nil:
			var names []string
			for _, c := range table {
				if c.kind == writes {
					names = append(names, c.name)
				}
			}
			msg := fmt.Sprintf("commands: unknown action %q", name)
			if s := closest(name, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return Policy{}, fmt.Errorf("%s; use actions that change servers: %s", msg, strings.Join(names, ", "))
		case c.kind != writes:
			return Policy{}, fmt.Errorf("commands: %q never changes a server, so it can't need approval", name)
		}
		p.ApprovalActions[name] = true
	}
	return p, nil
}

// String returns the policy's actions as ParsePolicy takes them, sorted.
func (p Policy) String() string {
	var names []string
	for n, ok := range p.ApprovalActions {
		if ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
