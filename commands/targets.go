package commands

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
)

// Targets of many servers. The power commands (start, stop, restart, reset,
// shutdown, reboot) may name, instead of one server,
//
//	group:<group>[.<account>]   every server of a group
//	<glob>[.<group>[.<account>]] the servers of a group (the default group
//	                             if none is given) whose names match a glob:
//	                             web*, web?, web[12], web*.staging
//
// Parse gives a Many for them. Every other command takes exactly one
// server: a group or a glob there is refused when the command is parsed,
// so that nothing that deletes, purges, reimages, creates or changes discs
// can ever reach more than the one server named.

// groupPrefix starts a target naming a whole group.
const groupPrefix = "group:"

// globChars are the characters that make a name a glob.
const globChars = "*?["

// powerCommands are the commands that take a target of many servers.
var powerCommands = []string{"start", "stop", "restart", "reset", "shutdown", "reboot"}

// A Target names many servers: every server of Group ("" is the default
// group; "g" or "g.account"), or, with Glob set, those of them whose own
// names (the first part of name.group.account) match Glob, a shell glob
// (`*`, `?`, `[a-z]`).
type Target struct {
	Group string
	Glob  string
}

// String returns the target as typed: "group:staging", "web*" or
// "web*.staging.acme".
func (t Target) String() string {
	if t.Glob == "" {
		return groupPrefix + t.Group
	}
	if t.Group == "" {
		return t.Glob
	}
	return t.Glob + "." + t.Group
}

// Match reports whether a server whose own name (without its group and
// account) is name is one of the target's servers, given that it is in
// the target's group.
func (t Target) Match(name string) bool {
	if t.Glob == "" {
		return true
	}
	ok, err := path.Match(t.Glob, strings.ToLower(name))
	return err == nil && ok
}

// IsTarget reports whether a word typed where a server goes names many
// servers (a group or a glob) rather than one.
func IsTarget(word string) bool {
	w := strings.ToLower(word)
	return strings.HasPrefix(w, groupPrefix) || strings.ContainsAny(w, globChars)
}

// parseTarget parses a target of many servers, as IsTarget recognises it.
func parseTarget(word string) (Target, error) {
	w := strings.ToLower(word)
	const forms = "Name many servers as `group:&lt;group&gt;[.&lt;account&gt;]` or with a glob such as `web*` or `web*.staging`."
	if g, ok := strings.CutPrefix(w, groupPrefix); ok {
		if g == "" {
			return Target{}, problemf("%s names no group. %s", quote(word), forms)
		}
		if strings.ContainsAny(g, globChars) {
			return Target{}, problemf("%s: a group can't be a glob; name one group. %s", quote(word), forms)
		}
		if p := groupProblem(g); p != "" {
			return Target{}, problem(p)
		}
		return Target{Group: g}, nil
	}
	glob, group, _ := strings.Cut(w, ".")
	if strings.ContainsAny(group, globChars) {
		return Target{}, problemf("%s: only the server's own name may be a glob, not its group or account, e.g. `web*.staging`.", quote(word))
	}
	if glob == "" {
		return Target{}, problemf("%s has an empty name part. %s", quote(word), forms)
	}
	if len(glob) > 63 {
		return Target{}, problemf("%s is too long for a name glob (the most is 63 characters).", quote(word))
	}
	for _, r := range glob {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-*?[]!^", r)) {
			return Target{}, problemf("%s isn't a glob of server names: it has the character %s; use letters, digits, hyphens and `*`, `?` or `[a-z]`.", quote(word), quote(string(r)))
		}
	}
	if _, err := path.Match(glob, ""); err != nil {
		return Target{}, problemf("%s isn't a glob of server names: it has an unclosed `[` or a bad range.", quote(word))
	}
	if group != "" {
		if p := groupProblem(group); p != "" {
			return Target{}, problem(p)
		}
	}
	return Target{Group: group, Glob: glob}, nil
}

// Many is a power action on every server a Target names. Action is the
// power action (Start, Stop, Restart, Reset, Shutdown or Reboot) with an
// empty Target; For gives it for one server. The bot resolves the target
// to a list of servers, shows it before anything runs, and runs the action
// on each server on its own.
type Many struct {
	Action Action `validate:"-"`
	Target Target `validate:"-"`
}

// Name implements Action: the power command's name, so that policies,
// help and approval settings treat it as that command.
func (m Many) Name() string {
	if m.Action == nil {
		return ""
	}
	return m.Action.Name()
}

// String implements Action: "restart group:staging", "reboot web* cycle".
func (m Many) String() string {
	if m.Action == nil {
		return ""
	}
	return withTarget(m.Action, m.Target.String()).String()
}

// Server implements Action: a Many has no one server.
func (Many) Server() string { return "" }

// Destructive implements Action: power actions destroy nothing.
func (Many) Destructive() bool { return false }

// For returns the action on one server (canonical name).
func (m Many) For(server string) Action { return withTarget(m.Action, server) }

// IsMany reports whether a is a target of many servers.
func IsMany(a Action) bool {
	_, ok := a.(Many)
	return ok
}

// problem implements checker.
func (m Many) problem() string {
	if m.Action == nil || !slices.Contains(powerCommands, m.Action.Name()) || m.Action.Server() != "" {
		return "Only the power commands (`start`, `stop`, `restart`, `reset`, `shutdown`, `reboot`) take many servers."
	}
	if _, err := parseTarget(m.Target.String()); err != nil {
		return err.Error()
	}
	if t, _ := parseTarget(m.Target.String()); t != m.Target {
		return fmt.Sprintf("Write the target %s as %s.", quote(m.Target.String()), quote(t.String()))
	}
	// The rest of the action (a reboot's method) is checked on a server.
	if err := check(m.For("web1")); err != nil {
		var p problem
		if errors.As(err, &p) {
			return string(p)
		}
		return "That command isn't valid."
	}
	return ""
}

// buildAny builds the action of command c from args, like c.build, except
// that a server argument (args[0]) naming many servers (a group or a glob)
// makes a Many of a power command, and is refused by any other command:
// only the power commands take many servers.
func (c *command) buildAny(args []string) (Action, error) {
	if len(args) == 0 || len(c.args) == 0 || c.args[0].name != "server" || !IsTarget(args[0]) {
		return c.build(args)
	}
	if !slices.Contains(powerCommands, c.name) {
		return nil, problemf("`%s` takes exactly one server, not %s: only the power commands (`start`, `stop`, `restart`, `reset`, `shutdown`, `reboot`) take a group or a glob. Name the server, e.g. `/bytemark %s`.",
			c.name, quote(args[0]), c.examples[0])
	}
	t, err := parseTarget(args[0])
	if err != nil {
		return nil, err
	}
	a, err := c.build(args)
	if err != nil {
		return nil, err
	}
	return Many{Action: withTarget(a, ""), Target: t}, nil // Parse checks it
}

// withTarget returns a copy of a with its Target field set to target.
func withTarget(a Action, target string) Action {
	v := reflect.New(reflect.TypeOf(a)).Elem()
	v.Set(reflect.ValueOf(a))
	if f := v.FieldByName("Target"); f.IsValid() && f.CanSet() && f.Kind() == reflect.String {
		f.SetString(target)
		return v.Interface().(Action)
	}
	return a
}

// targetsHelp is what the help of a power command says of targets.
const targetsHelp = "Many servers at once: `group:&lt;group&gt;[.&lt;account&gt;]` (every server of a group) or a glob over the names in a group, " +
	"e.g. `web*` (the default group) or `web*.staging`. The servers are listed before anything runs; each runs and reports on its own, " +
	"and more servers than the bot's blast radius need approval. Deleted servers are skipped. Other commands take one server."
