package commands

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxTextLen is the longest command text Parse accepts, in bytes.
const MaxTextLen = 500

// A UsageError is bad input. Msg is written for people and is shown to them
// verbatim as Slack mrkdwn (so &, < and > are escaped as &amp;, &lt; and
// &gt;): what was wrong and, where there is one, the usage line of the
// command.
type UsageError struct {
	Msg string
	err error // the underlying error, if any (e.g. from the Bytemark API)
}

// Error returns the message with the package prefix, for logs.
func (e *UsageError) Error() string { return "commands: " + e.Msg }

// Unwrap returns the error behind e, if any, so that callers can still
// test it with errors.Is and errors.As.
func (e *UsageError) Unwrap() error { return e.err }

// A problem is a sentence for people saying what was wrong with some input.
// Parse turns it into a *UsageError, adding the usage line.
type problem string

func (p problem) Error() string { return string(p) }

func problemf(format string, args ...any) problem { return problem(fmt.Sprintf(format, args...)) }

// kind says what a command touches.
type kind int

const (
	local  kind = iota // answered by the bot alone (help, approvals, ...)
	reads              // reads from Bytemark
	writes             // changes a server
)

// An arg is one argument of a command, for the usage line and messages.
type arg struct {
	name     string // in the usage line: <name> or [name]
	noun     string // in messages: "a server name"
	optional bool
	repeat   bool // may be given more than once: shown with "…"
}

var (
	argServer = arg{name: "server", noun: "a server name"}
	argLabel  = arg{name: "label", noun: "a disc label"}
	argSize   = arg{name: "size", noun: "a size"}
	argGrade  = arg{name: "sata|archive|ssd", noun: "a storage grade", optional: true}
	argMethod = arg{name: "graceful|reset|cycle", noun: "a reboot method", optional: true}
	argNewSrv = arg{name: "server", noun: "the new server's name"}
	argImage  = arg{name: "distribution", noun: "an image (`/bytemark images` lists them)"}
)

// A command is one entry in the table that both parses and documents the
// language.
type command struct {
	name     string // "restart", "disc add"
	args     []arg
	summary  string // one line for the command list
	detail   string // more, for `help <command>`
	examples []string
	kind     kind
	timeout  time.Duration // for running it against Bytemark
	build    func(args []string) (Action, error)
	// options: after the required arguments come keyword options
	// ("cores 4 memory 8G"), which build parses.
	options bool
}

const (
	readTimeout  = 30 * time.Second
	writeTimeout = 2 * time.Minute
	powerTimeout = 5 * time.Minute // shutdown waits for the server to go off
)

// table is the command language: parsing, help and policy names all come
// from it. Keep it in the order help lists it.
var table = []command{
	{name: "help", args: []arg{{name: "command", noun: "a command", optional: true}},
		summary: "Show this help, or the help for one command.", examples: []string{"help", "help disc add"},
		build: func(a []string) (Action, error) { return Help{Topic: strings.ToLower(strings.Join(a, " "))}, nil }},
	{name: "list", args: []arg{{name: "group", noun: "a group", optional: true}}, kind: reads, timeout: readTimeout,
		summary: "List the servers in a group (the default group if none is given).",
		detail:  "A group is `name` or `name.account`.", examples: []string{"list", "list staging"},
		build: func(a []string) (Action, error) { return List{Group: strings.ToLower(opt(a, 0))}, nil }},
	{name: "show", args: []arg{argServer}, kind: reads, timeout: readTimeout,
		summary: "Show a server: power, size, addresses and discs.", examples: []string{"show web1"},
		build: func(a []string) (Action, error) { return Show{Target: serverArg(a[0])}, nil }},
	{name: "start", args: []arg{argServer}, kind: writes, timeout: writeTimeout,
		summary: "Power a server on.", examples: []string{"start web1"},
		build: func(a []string) (Action, error) { return Start{Target: serverArg(a[0])}, nil }},
	{name: "stop", args: []arg{argServer}, kind: writes, timeout: writeTimeout,
		summary: "Pull the plug: power a server off at once, without a clean shutdown.",
		detail:  "Use `shutdown` for a clean shutdown.", examples: []string{"stop web1"},
		build: func(a []string) (Action, error) { return Stop{Target: serverArg(a[0])}, nil }},
	{name: "restart", args: []arg{argServer}, kind: writes, timeout: powerTimeout,
		summary: "Shut a server down cleanly, wait for it to be off, then start it.", examples: []string{"restart web1"},
		build: func(a []string) (Action, error) { return Restart{Target: serverArg(a[0])}, nil }},
	{name: "reset", args: []arg{argServer}, kind: writes, timeout: writeTimeout,
		summary: "Reset a server, like pressing its reset button.", examples: []string{"reset web1"},
		build: func(a []string) (Action, error) { return Reset{Target: serverArg(a[0])}, nil }},
	{name: "shutdown", args: []arg{argServer}, kind: writes, timeout: powerTimeout,
		summary: "Shut a server down cleanly and leave it off.", examples: []string{"shutdown web1"},
		build: func(a []string) (Action, error) { return Shutdown{Target: serverArg(a[0])}, nil }},
	{name: "reboot", args: []arg{argServer, argMethod}, kind: writes, timeout: powerTimeout,
		summary: "Reboot a server: `graceful` (the default), `reset` or `cycle`.",
		detail: "`graceful` shuts down cleanly and starts again, and power cycles the server if it doesn't go off in time. " +
			"`reset` is the reset button. `cycle` pulls the plug and starts it again. Monitoring webhooks use this command.",
		examples: []string{"reboot web1", "reboot web1 cycle"},
		build: func(a []string) (Action, error) {
			m := strings.ToLower(opt(a, 1))
			if m == "" {
				m = RebootGraceful
			}
			return Reboot{Target: serverArg(a[0]), Method: m}, nil
		}},
	{name: "delete", args: []arg{argServer}, kind: writes, timeout: writeTimeout,
		summary: "Delete a server. It stops, and `undelete` can bring it back for a while.", examples: []string{"delete web1"},
		build: func(a []string) (Action, error) { return Delete{Target: serverArg(a[0])}, nil }},
	{name: "undelete", args: []arg{argServer}, kind: writes, timeout: writeTimeout,
		summary: "Bring back a deleted server.", examples: []string{"undelete web1"},
		build: func(a []string) (Action, error) { return Undelete{Target: serverArg(a[0])}, nil }},
	{name: "purge", args: []arg{argServer}, kind: writes, timeout: writeTimeout,
		summary: "Destroy a server and all its discs for good. Always needs approval.", examples: []string{"purge web1"},
		build: func(a []string) (Action, error) { return Purge{Target: serverArg(a[0])}, nil }},
	{name: "discs", args: []arg{argServer}, kind: reads, timeout: readTimeout,
		summary: "List a server's discs.", examples: []string{"discs web1"},
		build: func(a []string) (Action, error) { return Discs{Target: serverArg(a[0])}, nil }},
	{name: "disc add", args: []arg{argServer, argLabel, argSize, argGrade}, kind: writes, timeout: writeTimeout,
		summary: "Add a disc to a server (sata unless you say otherwise).",
		detail: "Sizes look like " + SizeExamples + "; a bare number is GiB. A disc is 1 GiB to 2 TiB, and a server has at most 8. " +
			"Labels are letters, digits, `-` and `_`, and can't be device names such as `vdb`.",
		examples: []string{"disc add web1 data 50G", "disc add web1 backups 1T archive"},
		build:    buildDiscAdd},
	{name: "disc resize", args: []arg{argServer, argLabel, argSize}, kind: writes, timeout: writeTimeout,
		summary: "Grow a disc to a new size (discs only grow).",
		detail:  "The server sees the new size after it restarts.", examples: []string{"disc resize web1 data 100G"},
		build: func(a []string) (Action, error) {
			n, err := parseDiscSize(a[2])
			if err != nil {
				return nil, err
			}
			return DiscResize{Target: serverArg(a[0]), Label: a[1], SizeMiB: n}, nil
		}},
	{name: "disc purge", args: []arg{argServer, argLabel}, kind: writes, timeout: writeTimeout,
		summary: "Destroy a disc and its data for good. Always needs approval.", examples: []string{"disc purge web1 data"},
		build: func(a []string) (Action, error) { return DiscPurge{Target: serverArg(a[0]), Label: a[1]}, nil }},
	{name: "resize", args: []arg{argServer, {name: "cores &lt;n&gt;", optional: true}, {name: "memory &lt;size&gt;", optional: true}, {name: "restart", optional: true}},
		kind: writes, timeout: powerTimeout, options: true,
		summary: "Change a server's cores, memory or both.",
		detail: "Memory is `512M` or whole GiB (a bare number is GiB). A running server gets the new size when it next starts; " +
			"if Bytemark won't change it while it runs, add `restart`: the server is shut down cleanly, resized and started again, in one go.",
		examples: []string{"resize web1 cores 4 memory 8G", "resize web1 memory 16G restart"},
		build:    buildResize},
	{name: "rename", args: []arg{argServer, {name: "new-name", noun: "the new name"}}, kind: writes, timeout: writeTimeout,
		summary:  "Rename a server, in its group.",
		detail:   "The new name is the server's own name alone (letters, digits and hyphens, at least 3); one already taken in the group is refused.",
		examples: []string{"rename web1 www1"},
		build: func(a []string) (Action, error) {
			return Rename{Target: serverArg(a[0]), NewName: strings.ToLower(a[1])}, nil
		}},
	{name: "move", args: []arg{argServer, {name: "group", noun: "a group (`group` or `group.account`)"}}, kind: writes, timeout: powerTimeout,
		summary:  "Move a server to another group. A running server is shut down cleanly, moved and started again.",
		detail:   "A group is `name` or `name.account`. Bytemark moves servers only between groups it lets this account use, on the same private VLAN.",
		examples: []string{"move web1 staging", "move web1 staging.acme"},
		build: func(a []string) (Action, error) {
			return Move{Target: serverArg(a[0]), Group: strings.ToLower(a[1])}, nil
		}},
	{name: "create", args: []arg{argNewSrv, {name: "cores &lt;n&gt;", optional: true}, {name: "memory &lt;size&gt;", optional: true},
		{name: "disc &lt;size&gt;[:&lt;grade&gt;]", optional: true, repeat: true}, {name: "image &lt;distribution&gt;|no-image", optional: true}, {name: "stopped", optional: true}},
		kind: writes, timeout: powerTimeout, options: true,
		summary: "Create a server (1 core, 1G memory and one 25G sata disc unless you say otherwise).",
		detail: "The name may carry its group: `new1.staging`. Give `disc` once per disc (grades `sata`, `archive`, `ssd`). " +
			"The image is `" + DefaultImage + "` unless you name one (`/bytemark images` lists them) or say `no-image`; `stopped` leaves it off. " +
			"The answer comes when the server is up, with its addresses; the root password is sent to you alone, once.",
		examples: []string{"create new1", "create new1.staging cores 2 memory 4G disc 50G:ssd image bookworm"},
		build:    buildCreate},
	{name: "reimage", args: []arg{argServer, argImage}, kind: writes, timeout: powerTimeout,
		summary: "Install a fresh system on a server's first disc, destroying its data. Always needs approval.",
		detail: "The server is shut down cleanly (and powered off if it doesn't go off in time), reimaged and started. " +
			"The new root password is sent to the requester alone, once. `/bytemark images` lists the images.",
		examples: []string{"reimage web1 bookworm"},
		build: func(a []string) (Action, error) {
			return Reimage{Target: serverArg(a[0]), Distribution: strings.ToLower(a[1])}, nil
		}},
	{name: "rescue", args: []arg{argServer}, kind: writes, timeout: powerTimeout,
		summary:  "Restart a server into the rescue system, to repair its discs.",
		detail:   "A running server is shut down cleanly first. Its discs are untouched; `restart` boots its own system again.",
		examples: []string{"rescue web1"},
		build:    func(a []string) (Action, error) { return Rescue{Target: serverArg(a[0])}, nil }},
	{name: "images", kind: reads, timeout: readTimeout,
		summary: "List the images (operating systems) servers can be created or reimaged with.", examples: []string{"images"},
		build: func([]string) (Action, error) { return Images{}, nil }},
	{name: "approvals", summary: "List the approval requests waiting for a decision.", examples: []string{"approvals"},
		build: func([]string) (Action, error) { return Approvals{}, nil }},
	{name: "cancel", args: []arg{{name: "ticket", noun: "a ticket ID"}},
		summary: "Cancel your approval request.", examples: []string{"cancel T8K2M4"},
		build: func(a []string) (Action, error) { return Cancel{Ticket: a[0]}, nil }},
	{name: "audit", args: []arg{{name: "server", noun: "a server name", optional: true}},
		summary:  "Show the audit log: who did what, approved by whom (of one server if given).",
		examples: []string{"audit", "audit web1"},
		build: func(a []string) (Action, error) {
			s := opt(a, 0)
			if s != "" {
				s = serverArg(s)
			}
			return Audit{Target: s}, nil
		}},
}

func buildDiscAdd(a []string) (Action, error) {
	n, err := parseDiscSize(a[2])
	if err != nil {
		return nil, err
	}
	g := strings.ToLower(opt(a, 3))
	if _, ok := units[g]; ok && g != "" {
		return nil, problemf("Write the size and its unit together, e.g. `%s%s`.", a[2], strings.ToUpper(g[:1]))
	}
	if g == "" {
		g = DefaultGrade
	}
	return DiscAdd{Target: serverArg(a[0]), Label: a[1], SizeMiB: n, Grade: g}, nil
}

// opt returns a[i], or "" if there is no such argument.
func opt(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

// lookup returns the command with the given name, or nil.
func lookup(name string) *command {
	for i := range table {
		if table[i].name == name {
			return &table[i]
		}
	}
	return nil
}

// usage returns the usage line of c as Slack mrkdwn:
// "/bytemark disc add &lt;server&gt; &lt;label&gt; &lt;size&gt; [sata|archive|ssd]".
func (c *command) usage() string {
	var b strings.Builder
	b.WriteString("/bytemark ")
	b.WriteString(c.name)
	for _, a := range c.args {
		if a.optional {
			fmt.Fprintf(&b, " [%s]", a.name)
			if a.repeat {
				b.WriteString("…")
			}
		} else {
			// Escaped: in Slack mrkdwn <...> is a link or mention.
			fmt.Fprintf(&b, " &lt;%s&gt;", a.name)
		}
	}
	return b.String()
}

// takes describes c's arguments: "a server name, a disc label and a size,
// and optionally a storage grade".
func (c *command) takes() string {
	var req, optl []string
	for _, a := range c.args {
		if a.optional {
			optl = append(optl, a.noun)
		} else {
			req = append(req, a.noun)
		}
	}
	s := list(req, "and")
	if len(optl) > 0 {
		if s != "" {
			s += ", and "
		}
		s += "optionally " + list(optl, "or")
	}
	if s == "" {
		return "nothing more"
	}
	return s
}

// list joins words as English: "a", "a and b", "a, b and c".
func list(words []string, conj string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// usageError returns a *UsageError for a problem with c.
func (c *command) usageError(msg string) *UsageError {
	return &UsageError{Msg: msg + "\nUsage: `" + c.usage() + "`"}
}

// Parse parses the text of a slash command (what follows `/bytemark`), e.g.
// "restart web1" or "disc add web1 data 50G", into a validated Action.
// Empty text is Help{}. Errors are *UsageError.
func Parse(text string) (Action, error) {
	words, err := split(text)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	if len(words) == 0 {
		return Help{}, nil
	}
	c, args, err := find(words)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	if c.name == "help" {
		// Help takes a topic of up to two words ("disc add").
		if len(args) > 2 {
			return nil, c.usageError(fmt.Sprintf("Too many arguments: `help` takes a command, and %s is extra.", quote(strings.Join(args[2:], " "))))
		}
	} else if c.options {
		if err := c.checkRequired(args); err != nil {
			return nil, c.usageError(err.Error())
		}
	} else {
		if err := c.checkArgs(args); err != nil {
			return nil, c.usageError(err.Error())
		}
	}
	a, err := c.buildAny(args) // the server may be a group or a glob (targets.go)
	if err == nil {
		err = check(a)
	}
	if err != nil {
		var p problem
		if errors.As(err, &p) {
			return nil, c.usageError(string(p))
		}
		return nil, &UsageError{Msg: "That command isn't valid.", err: err}
	}
	return a, nil
}

// checkArgs checks the number of arguments.
func (c *command) checkArgs(args []string) error {
	required := 0
	for _, a := range c.args {
		if !a.optional {
			required++
		}
	}
	if len(args) < required {
		missing := c.args[len(args)]
		return problemf("`%s` needs %s, e.g. `/bytemark %s`.", c.name, missing.noun, c.examples[0])
	}
	if len(args) > len(c.args) {
		return problemf("Too many arguments: `%s` takes %s, and %s is extra.", c.name, c.takes(), quote(strings.Join(args[len(c.args):], " ")))
	}
	return nil
}

// checkRequired checks that the required arguments of a command with
// options are there.
func (c *command) checkRequired(args []string) error {
	for i, a := range c.args {
		if !a.optional && i >= len(args) {
			return problemf("`%s` needs %s, e.g. `/bytemark %s`.", c.name, a.noun, c.examples[0])
		}
	}
	return nil
}

// split checks text and splits it into words.
func split(text string) ([]string, error) {
	if len(text) > MaxTextLen {
		return nil, problemf("That's too long for a command (%d characters; the most is %d).", len(text), MaxTextLen)
	}
	if !utf8.ValidString(text) {
		return nil, problem("That text has bytes that aren't valid UTF-8; type the command again.")
	}
	for _, r := range text {
		switch {
		case r == '\n' || r == '\r':
			return nil, problem("Put the whole command on one line.")
		case r == '\t':
			// Pasted text may hold tabs; they separate words like spaces.
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return nil, problemf("That has an invisible or control character (%U); type the command again without it.", r)
		}
	}
	// Fields also trims and collapses runs of spaces, including the
	// non-breaking spaces some keyboards insert.
	return strings.Fields(text), nil
}

// find finds the command the words name and returns it with its arguments.
func find(words []string) (*command, []string, error) {
	// Command words are case-insensitive: phones capitalise the first word.
	name := strings.ToLower(words[0])
	if name != "disc" {
		if c := lookup(name); c != nil {
			return c, words[1:], nil
		}
		return nil, nil, unknown(words)
	}
	subs := "`add`, `resize` or `purge`"
	if len(words) == 1 {
		return nil, nil, problemf("`disc` needs %s, e.g. `/bytemark disc add web1 data 50G`. To list discs, use `/bytemark discs &lt;server&gt;`.", subs)
	}
	sub := strings.ToLower(words[1])
	if c := lookup("disc " + sub); c != nil {
		return c, words[2:], nil
	}
	if serverProblem(serverArg(words[1])) == "" && len(words) == 2 {
		return nil, nil, problemf("`disc` needs %s. Did you mean `/bytemark discs %s`?", subs, serverArg(words[1]))
	}
	msg := fmt.Sprintf("`disc` can't %s; it can %s.", quote(words[1]), subs)
	if s := closest(sub, []string{"add", "resize", "purge"}); s != "" {
		msg += fmt.Sprintf(" Did you mean `disc %s`?", s)
	}
	return nil, nil, problem(msg)
}

// quote shows some input in a message: in a code span, shortened, with
// the characters Slack treats specially made harmless.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:39]) + "…"
	}
	return Code(s)
}
