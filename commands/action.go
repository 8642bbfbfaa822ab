// Package commands is the bot's action language. Every way into the bot (a
// slash command, a button, Socket Mode, a monitoring webhook, the console)
// ends as one validated Action. Parsing is pure; the only I/O is running an
// action against the small Cloud interface declared here.
//
// Every action has a canonical text form: Parse(a.String()) gives back a.
// Approval tickets and the work queue store that text, and the executor
// parses it again before running it.
package commands

import (
	"reflect"
	"strings"
)

// An Action is a validated request from a person or from monitoring.
type Action interface {
	// Name is the command word or words, e.g. "purge" or "disc add".
	Name() string
	// String is the canonical text: Parse(a.String()) gives back a.
	String() string
	// Server is the target server in canonical form ("" if none).
	Server() string
	// Destructive reports whether the action destroys data for good.
	// Destructive actions always need approval.
	Destructive() bool
}

// Reboot methods.
const (
	// RebootGraceful is an ACPI shutdown, a wait for power off and a start;
	// if the server doesn't go off in time it is power cycled instead.
	RebootGraceful = "graceful"
	// RebootReset is a hardware reset signal, like the reset button.
	RebootReset = "reset"
	// RebootCycle is a power cycle: pull the plug, then start.
	RebootCycle = "cycle"
)

// RebootMethods are the reboot methods, for validating configuration.
var RebootMethods = []string{RebootReset, RebootCycle, RebootGraceful}

// DefaultGrade is the storage grade of a new disc when none is given.
const DefaultGrade = "sata"

// Help asks for the help text, of one command if Topic is set.
type Help struct {
	Topic string // "", a command ("restart", "disc add") or "disc"
}

// List lists the servers in a group ("" for the default group, "g" or
// "g.account").
type List struct {
	Group string `validate:"omitempty,group"`
}

// Show shows one server.
type Show struct {
	Target string `validate:"server"`
}

// Start powers a server on.
type Start struct {
	Target string `validate:"server"`
}

// Stop pulls the plug on a server.
type Stop struct {
	Target string `validate:"server"`
}

// Restart shuts a server down cleanly, waits for it to be off, and starts it.
type Restart struct {
	Target string `validate:"server"`
}

// Reset sends a server the hardware reset signal.
type Reset struct {
	Target string `validate:"server"`
}

// Shutdown shuts a server down cleanly (ACPI) and leaves it off.
type Shutdown struct {
	Target string `validate:"server"`
}

// Reboot reboots a server by Method: RebootGraceful, RebootReset or
// RebootCycle. Monitoring webhooks produce it; people may type it too.
type Reboot struct {
	Target string `validate:"server"`
	Method string `validate:"oneof=graceful reset cycle"`
}

// Delete soft-deletes a server; Undelete brings it back for a while.
type Delete struct {
	Target string `validate:"server"`
}

// Undelete restores a deleted server.
type Undelete struct {
	Target string `validate:"server"`
}

// Purge destroys a server and its discs for good.
type Purge struct {
	Target string `validate:"server"`
}

// Discs lists a server's discs.
type Discs struct {
	Target string `validate:"server"`
}

// DiscAdd adds a disc to a server. SizeMiB is in MiB. A new disc's label
// can't look like a Unix device name (vda, sdb, ...).
type DiscAdd struct {
	Target  string `validate:"server"`
	Label   string `validate:"disclabel"`
	SizeMiB int    `validate:"min=1024,max=2097152"`
	Grade   string `validate:"oneof=sata archive ssd"`
}

// DiscResize grows a disc to SizeMiB (in MiB). Label names an existing
// disc, so legacy device-name labels such as vda are accepted.
type DiscResize struct {
	Target  string `validate:"server"`
	Label   string `validate:"discref"`
	SizeMiB int    `validate:"min=1024,max=2097152"`
}

// DiscPurge destroys a disc and its data for good. Label names an existing
// disc, so legacy device-name labels such as vdb are accepted.
type DiscPurge struct {
	Target string `validate:"server"`
	Label  string `validate:"discref"`
}

// Approvals lists pending approval requests.
type Approvals struct{}

// Cancel cancels a pending approval request.
type Cancel struct {
	Ticket string `validate:"ticket"`
}

// Audit shows the audit log, of one server if Target is set.
type Audit struct {
	Target string `validate:"omitempty,server"`
}

// Name implements Action.
func (Help) Name() string { return "help" }

// Name implements Action.
func (List) Name() string { return "list" }

// Name implements Action.
func (Show) Name() string { return "show" }

// Name implements Action.
func (Start) Name() string { return "start" }

// Name implements Action.
func (Stop) Name() string { return "stop" }

// Name implements Action.
func (Restart) Name() string { return "restart" }

// Name implements Action.
func (Reset) Name() string { return "reset" }

// Name implements Action.
func (Shutdown) Name() string { return "shutdown" }

// Name implements Action.
func (Reboot) Name() string { return "reboot" }

// Name implements Action.
func (Delete) Name() string { return "delete" }

// Name implements Action.
func (Undelete) Name() string { return "undelete" }

// Name implements Action.
func (Purge) Name() string { return "purge" }

// Name implements Action.
func (Discs) Name() string { return "discs" }

// Name implements Action.
func (DiscAdd) Name() string { return "disc add" }

// Name implements Action.
func (DiscResize) Name() string { return "disc resize" }

// Name implements Action.
func (DiscPurge) Name() string { return "disc purge" }

// Name implements Action.
func (Approvals) Name() string { return "approvals" }

// Name implements Action.
func (Cancel) Name() string { return "cancel" }

// Name implements Action.
func (Audit) Name() string { return "audit" }

// String implements Action.
func (a Help) String() string { return join("help", a.Topic) }

// String implements Action.
func (a List) String() string { return join("list", a.Group) }

// String implements Action.
func (a Show) String() string { return join("show", a.Target) }

// String implements Action.
func (a Start) String() string { return join("start", a.Target) }

// String implements Action.
func (a Stop) String() string { return join("stop", a.Target) }

// String implements Action.
func (a Restart) String() string { return join("restart", a.Target) }

// String implements Action.
func (a Reset) String() string { return join("reset", a.Target) }

// String implements Action.
func (a Shutdown) String() string { return join("shutdown", a.Target) }

// String implements Action.
func (a Reboot) String() string { return join("reboot", a.Target, a.Method) }

// String implements Action.
func (a Delete) String() string { return join("delete", a.Target) }

// String implements Action.
func (a Undelete) String() string { return join("undelete", a.Target) }

// String implements Action.
func (a Purge) String() string { return join("purge", a.Target) }

// String implements Action.
func (a Discs) String() string { return join("discs", a.Target) }

// String implements Action.
func (a DiscResize) String() string {
	return join("disc resize", a.Target, a.Label, FormatSize(a.SizeMiB))
}

// String implements Action.
func (a DiscPurge) String() string { return join("disc purge", a.Target, a.Label) }

// String implements Action.
func (a Approvals) String() string { return "approvals" }

// String implements Action.
func (a Cancel) String() string { return join("cancel", a.Ticket) }

// String implements Action.
func (a Audit) String() string { return join("audit", a.Target) }

// String implements Action.
func (a DiscAdd) String() string {
	return join("disc add", a.Target, a.Label, FormatSize(a.SizeMiB), a.Grade)
}

// Server implements Action.
func (Help) Server() string { return "" }

// Server implements Action.
func (a List) Server() string { return "" }

// Server implements Action.
func (a Show) Server() string { return a.Target }

// Server implements Action.
func (a Start) Server() string { return a.Target }

// Server implements Action.
func (a Stop) Server() string { return a.Target }

// Server implements Action.
func (a Restart) Server() string { return a.Target }

// Server implements Action.
func (a Reset) Server() string { return a.Target }

// Server implements Action.
func (a Shutdown) Server() string { return a.Target }

// Server implements Action.
func (a Reboot) Server() string { return a.Target }

// Server implements Action.
func (a Delete) Server() string { return a.Target }

// Server implements Action.
func (a Undelete) Server() string { return a.Target }

// Server implements Action.
func (a Purge) Server() string { return a.Target }

// Server implements Action.
func (a Discs) Server() string { return a.Target }

// Server implements Action.
func (a DiscAdd) Server() string { return a.Target }

// Server implements Action.
func (a DiscResize) Server() string { return a.Target }

// Server implements Action.
func (a DiscPurge) Server() string { return a.Target }

// Server implements Action.
func (Approvals) Server() string { return "" }

// Server implements Action.
func (Cancel) Server() string { return "" }

// Server implements Action.
func (a Audit) Server() string { return a.Target }

// Destructive implements Action.
func (Help) Destructive() bool { return false }

// Destructive implements Action.
func (List) Destructive() bool { return false }

// Destructive implements Action.
func (Show) Destructive() bool { return false }

// Destructive implements Action.
func (Start) Destructive() bool { return false }

// Destructive implements Action.
func (Stop) Destructive() bool { return false }

// Destructive implements Action.
func (Restart) Destructive() bool { return false }

// Destructive implements Action.
func (Reset) Destructive() bool { return false }

// Destructive implements Action.
func (Shutdown) Destructive() bool { return false }

// Destructive implements Action.
func (Reboot) Destructive() bool { return false }

// Destructive implements Action.
func (Delete) Destructive() bool { return false } // undelete brings it back

// Destructive implements Action.
func (Undelete) Destructive() bool { return false }

// Destructive implements Action.
func (Purge) Destructive() bool { return true }

// Destructive implements Action.
func (Discs) Destructive() bool { return false }

// Destructive implements Action.
func (DiscAdd) Destructive() bool { return false }

// Destructive implements Action.
func (DiscResize) Destructive() bool { return false }

// Destructive implements Action.
func (DiscPurge) Destructive() bool { return true }

// Destructive implements Action.
func (Approvals) Destructive() bool { return false }

// Destructive implements Action.
func (Cancel) Destructive() bool { return false }

// Destructive implements Action.
func (Audit) Destructive() bool { return false }

// join joins the command words and the non-empty arguments with spaces.
func join(name string, args ...string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, a := range args {
		if a != "" {
			b.WriteByte(' ')
			b.WriteString(a)
		}
	}
	return b.String()
}

// WithServer returns a copy of a naming server (canonical form) as its
// target instead, e.g. the canonical name that the target was resolved
// to. An action without a target is returned as it is.
func WithServer(a Action, server string) Action {
	if a == nil || a.Server() == "" {
		return a
	}
	v := reflect.New(reflect.TypeOf(a)).Elem()
	v.Set(reflect.ValueOf(a))
	if f := v.FieldByName("Target"); f.IsValid() && f.CanSet() && f.Kind() == reflect.String {
		f.SetString(server)
		return v.Interface().(Action)
	}
	return a
}
