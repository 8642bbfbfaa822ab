package commands

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// Cloud is the part of the Bytemark API that actions use. *bytemark.Client
// satisfies it.
type Cloud interface {
	ListServers(ctx context.Context, group string) ([]bytemark.Server, error)
	GetServer(ctx context.Context, name string) (*bytemark.Server, error)
	StartServer(ctx context.Context, name string) error
	StopServer(ctx context.Context, name string) error
	ResetServer(ctx context.Context, name string) error
	ShutdownServer(ctx context.Context, name string) error
	RestartServer(ctx context.Context, name string) error
	CycleServer(ctx context.Context, name string) error
	DeleteServer(ctx context.Context, name string) error
	UndeleteServer(ctx context.Context, name string) error
	PurgeServer(ctx context.Context, name string) error
	Discs(ctx context.Context, server string) ([]bytemark.Disc, error)
	AddDisc(ctx context.Context, server string, d bytemark.DiscSpec) (*bytemark.Disc, error)
	ResizeDisc(ctx context.Context, server, label string, sizeMiB int) (*bytemark.Disc, error)
	PurgeDisc(ctx context.Context, server, label string) error
	// ResolveName fills in the default group and account of a name, and
	// AccountOverview reads an account's groups and servers (deleted ones
	// too): list, and the help of "not found".
	ResolveName(ctx context.Context, s string) (bytemark.Name, error)
	AccountOverview(ctx context.Context, account string) (*bytemark.Account, error)
	// The server commands (resize, rename, move, create, reimage, rescue,
	// images).
	UpdateServer(ctx context.Context, name string, u bytemark.ServerUpdate) (*bytemark.Server, error)
	MoveServer(ctx context.Context, name, group string) (*bytemark.Server, error)
	GetGroup(ctx context.Context, group string) (*bytemark.Group, error)
	CreateServer(ctx context.Context, name string, spec bytemark.ServerSpec) (*bytemark.Server, error)
	ReimageServer(ctx context.Context, name string, img bytemark.ImageInstall) error
	RescueServer(ctx context.Context, name string) error
	CachedDefinitions(ctx context.Context, maxAge time.Duration) (*bytemark.Definitions, error)
}

// A Runnable is an action that runs against Bytemark. Call it through Run,
// which validates it, bounds its time and records its calls.
type Runnable interface {
	Action
	Run(ctx context.Context, c Cloud) (Result, error)
}

// A Result is what running an action gave, for a Slack message.
type Result struct {
	// Summary is one line of plain text, safe as Slack mrkdwn, e.g.
	// "web1.default.acme restarted (was on, now on)".
	Summary string
	// Fields are extra label/value pairs to show.
	Fields []Field
	// Servers is a list of servers (list).
	Servers []bytemark.Server
	// Server is the server acted on, as read after the action, if it was.
	Server *bytemark.Server
	// Discs is a list of discs (discs, disc add, disc resize).
	Discs []bytemark.Disc
	// Calls are the Bytemark API calls made, one line each, e.g.
	// "PUT start web1"; a failed call ends in " (failed)".
	Calls []string
	// NoOp is set when the action had nothing to do (a start of a server
	// that is on): nothing was sent, and Summary says why.
	NoOp bool
	// Private is for the requester's eyes only, once: the root password of
	// a server just created or reimaged, with how to use it. It is never
	// part of Summary, Fields or an error; deliver it privately (an
	// ephemeral message to the requester) and never log or store it.
	Private string
}

// A Field is a label and a value to show with a result.
type Field struct {
	Label, Value string
}

// Timeout returns how long a may take to run: 30s for reads, 5m for those
// that wait for a clean shutdown, 2m for other changes.
func Timeout(a Action) time.Duration {
	if c := lookup(a.Name()); c != nil && c.timeout > 0 {
		return c.timeout
	}
	return writeTimeout
}

// Run validates a and runs it against c within Timeout(a). The result's
// Calls list the API calls made, also when it fails. Errors a person can
// act on (an unknown server, a disc that can only grow, a timeout) are
// *UsageError wrapping the cause; others come from c, wrapped.
func Run(ctx context.Context, c Cloud, a Action) (Result, error) {
	r, ok := a.(Runnable)
	if !ok {
		if a == nil {
			return Result{}, errors.New("commands: no action to run")
		}
		return Result{}, fmt.Errorf("commands: %s doesn't run against Bytemark", a.Name())
	}
	if err := Validate(a); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout(a))
	defer cancel()
	rec := &recorder{c: c}
	res, err := r.Run(ctx, rec)
	res.Calls = rec.calls
	var usage *UsageError
	if err != nil && isNotFound(err) && a.Server() != "" && !errors.As(err, &usage) && ctx.Err() == nil {
		// Say where we looked and what was probably meant.
		return res, serverNotFound(ctx, c, a, err)
	}
	if err != nil {
		return res, explain(a, err)
	}
	return res, nil
}

// Explain turns an error from resolving a's server or running a into one a
// person can act on (a *UsageError) where it can, as Run does.
func Explain(a Action, err error) error { return explain(a, err) }

// explain turns an error from running a into one a person can act on,
// where it can.
func explain(a Action, err error) error {
	var u *UsageError
	var suffix *bytemark.SuffixError
	switch {
	case errors.As(err, &u):
		return err
	case errors.As(err, &suffix):
		return &UsageError{Msg: fmt.Sprintf("%s isn't a name of that server: its hostname is %s, so anything after the account must be exactly %s. Write %s or the full hostname.",
			"`"+safe(suffix.Asked)+"`", "`"+safe(suffix.Hostname)+"`", "`"+safe(hostSuffix(suffix.Hostname))+"`", "`"+safe(trimSuffix(suffix))+"`"), err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &UsageError{Msg: fmt.Sprintf("`%s` took too long (more than %s) and I stopped waiting. Check the server with `/bytemark show %s`.",
			a.String(), HumanDuration(Timeout(a)), a.Server()), err: err}
	case isNotFound(err) && a.Server() != "":
		return &UsageError{Msg: fmt.Sprintf("I can't find server `%s` (or this bot's Bytemark account can't see it). `/bytemark list` shows the servers.",
			a.Server()), err: err}
	case isNotFound(err):
		return &UsageError{Msg: fmt.Sprintf("Bytemark says that doesn't exist: `%s`.", a.String()), err: err}
	}
	return fmt.Errorf("commands: %s: %w", a.String(), err)
}

// Run implements Runnable. It lists the group's servers, live ones first,
// then deleted ones (which can still be undeleted), from one read of the
// account; a group that doesn't exist is named with the groups that do.
func (a List) Run(ctx context.Context, c Cloud) (Result, error) {
	g, account, err := listGroup(ctx, c, a.Group)
	if err != nil {
		return Result{}, err
	}
	var live, deleted []bytemark.Server
	for _, s := range g.Servers {
		if s.Hostname == "" {
			s.Hostname = s.Name + "." + g.Name + "." + account
		}
		if s.Deleted {
			deleted = append(deleted, s)
		} else {
			live = append(live, s)
		}
	}
	byName := func(x, y bytemark.Server) int { return cmp.Compare(x.Name, y.Name) }
	slices.SortFunc(live, byName)
	slices.SortFunc(deleted, byName)
	where := "the default group"
	if a.Group != "" {
		where = "group " + safe(g.Name)
	}
	sum := fmt.Sprintf("%s in %s", count(len(live), "server"), where)
	if len(deleted) > 0 {
		sum += fmt.Sprintf(", and %d deleted (until it is purged, `undelete` brings it back)", len(deleted))
	}
	return Result{Summary: sum, Servers: append(live, deleted...)}, nil
}

// Run implements Runnable.
func (a Show) Run(ctx context.Context, c Cloud) (Result, error) {
	s, err := c.GetServer(ctx, a.Target)
	if err != nil {
		return Result{}, err
	}
	total := 0
	for _, d := range s.Discs {
		total += d.Size
	}
	state := power(s)
	if s.Deleted {
		state = "deleted"
	}
	sum := fmt.Sprintf("%s is %s: %s, %s memory, %s", displayName(a.Target, s), state, count(s.Cores, "core"), HumanSize(s.Memory), count(len(s.Discs), "disc"))
	if total > 0 {
		sum += fmt.Sprintf(" (%s)", HumanSize(total))
	}
	return Result{Summary: sum, Server: s}, nil
}

// Run implements Runnable.
func (a Start) Run(ctx context.Context, c Cloud) (Result, error) {
	return powerAction(ctx, c, a, says("started", c.StartServer))
}

// Run implements Runnable.
func (a Stop) Run(ctx context.Context, c Cloud) (Result, error) {
	return powerAction(ctx, c, a, says("stopped", c.StopServer))
}

// Run implements Runnable.
func (a Restart) Run(ctx context.Context, c Cloud) (Result, error) {
	return powerAction(ctx, c, a, says("restarted", c.RestartServer))
}

// Run implements Runnable.
func (a Reset) Run(ctx context.Context, c Cloud) (Result, error) {
	return powerAction(ctx, c, a, says("reset", c.ResetServer))
}

// Run implements Runnable.
func (a Shutdown) Run(ctx context.Context, c Cloud) (Result, error) {
	return powerAction(ctx, c, a, says("shut down", c.ShutdownServer))
}

// Run implements Runnable. A graceful reboot that fails (typically: the
// server ignored the ACPI power button and didn't go off in time, a
// *bytemark.PowerTimeoutError) falls back to a power cycle; both calls are
// recorded. An outright refusal (not found, forbidden, bad request) or the
// end of ctx is not retried.
func (a Reboot) Run(ctx context.Context, c Cloud) (Result, error) {
	switch a.Method {
	case RebootReset:
		return powerAction(ctx, c, a, says("rebooted by reset", c.ResetServer))
	case RebootCycle:
		return powerAction(ctx, c, a, says("rebooted by power cycle", c.CycleServer))
	}
	return powerAction(ctx, c, a, func(ctx context.Context, name string) (string, error) {
		err := c.RestartServer(ctx, name)
		if err == nil || refused(err) || ctx.Err() != nil {
			return "rebooted cleanly", err
		}
		return "rebooted by power cycle (a clean restart didn't finish)", c.CycleServer(ctx, name)
	})
}

// says returns a power action for powerAction: do, described by verb.
func says(verb string, do func(context.Context, string) error) func(context.Context, string) (string, error) {
	return func(ctx context.Context, name string) (string, error) { return verb, do(ctx, name) }
}

// powerAction reads a's server, runs do on it and reads it again, to say
// what changed. do returns the past tense for the summary ("started"). A
// server already as a would leave it (AlreadyDone), or a restart of one
// that is off, gets a no-op result and nothing is sent.
func powerAction(ctx context.Context, c Cloud, a Action, do func(context.Context, string) (string, error)) (Result, error) {
	name := a.Server()
	before, err := c.GetServer(ctx, name)
	if err != nil {
		return Result{}, err
	}
	if before.Deleted {
		return Result{Server: before}, &UsageError{Msg: fmt.Sprintf("`%s` is deleted; `/bytemark undelete %s` first.", name, name)}
	}
	if done, msg := AlreadyDone(a, before); done {
		return noOp(msg, before), nil
	}
	if _, ok := a.(Restart); ok && !before.PowerOn {
		shown := safe(displayName(name, before))
		return noOp(fmt.Sprintf("`%s` is off, so there is nothing to restart; `/bytemark start %s` starts it.", shown, shown), before), nil
	}
	verb, err := do(ctx, name)
	if err != nil {
		return Result{Server: before}, err
	}
	after, err := c.GetServer(ctx, name)
	if err != nil {
		// The action itself worked; say so without the new state.
		return Result{Summary: fmt.Sprintf("%s %s (was %s)", displayName(name, before), verb, power(before)), Server: before}, nil
	}
	return Result{
		Summary: fmt.Sprintf("%s %s (was %s, now %s)", displayName(name, after), verb, power(before), power(after)),
		Server:  after,
	}, nil
}

// Run implements Runnable.
func (a Delete) Run(ctx context.Context, c Cloud) (Result, error) {
	if err := c.DeleteServer(ctx, a.Target); err != nil {
		return Result{}, err
	}
	return Result{Summary: fmt.Sprintf("%s deleted; `/bytemark undelete %s` brings it back for a while", a.Target, a.Target)}, nil
}

// Run implements Runnable. It reads the server first: one that isn't
// deleted needs nothing done.
func (a Undelete) Run(ctx context.Context, c Cloud) (Result, error) {
	srv, err := c.GetServer(ctx, a.Target)
	if err != nil {
		return Result{}, err
	}
	if done, msg := AlreadyDone(a, srv); done {
		return noOp(msg, srv), nil
	}
	if err := c.UndeleteServer(ctx, a.Target); err != nil {
		return Result{}, err
	}
	return Result{Summary: fmt.Sprintf("%s undeleted; `/bytemark start %s` powers it on", a.Target, a.Target)}, nil
}

// Run implements Runnable.
func (a Purge) Run(ctx context.Context, c Cloud) (Result, error) {
	if err := c.PurgeServer(ctx, a.Target); err != nil {
		return Result{}, err
	}
	return Result{Summary: fmt.Sprintf("%s purged: the server and its discs are gone for good", a.Target)}, nil
}

// hostSuffix returns what a hostname has after name.group.account.
func hostSuffix(host string) string {
	if parts := strings.SplitN(host, ".", 4); len(parts) == 4 {
		return parts[3]
	}
	return ""
}

// trimSuffix returns the asked name without its suffix.
func trimSuffix(e *bytemark.SuffixError) string {
	return strings.TrimSuffix(e.Asked, "."+e.Suffix)
}

// noOp is the result of an action that had nothing to do: msg says why
// (a sentence), and srv is the server as it is.
func noOp(msg string, srv *bytemark.Server) Result {
	return Result{Summary: strings.TrimSuffix(msg, "."), Server: srv, NoOp: true}
}

// power returns "on" or "off".
func power(s *bytemark.Server) string {
	if s.PowerOn {
		return "on"
	}
	return "off"
}

// count returns "1 disc", "3 discs".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// displayName names a server for people: name.group.account from its
// hostname, or the name it was asked for.
func displayName(asked string, s *bytemark.Server) string {
	if s == nil {
		return asked
	}
	parts := strings.Split(strings.ToLower(s.Hostname), ".")
	if len(parts) < 3 {
		return asked
	}
	name := strings.Join(parts[:3], ".")
	if serverProblem(name) != "" {
		return asked
	}
	return name
}

// safe makes text from the API harmless in Slack mrkdwn.
func safe(s string) string { return Escape(s) }

// Snapshot returns a stable hash (hex) of what an approver is shown of s:
// name, hostname, power, whether deleted, discs (id, label, size, grade)
// and IP addresses. If it changes between approval and execution, the
// server changed.
func Snapshot(s *bytemark.Server) string {
	type disc struct {
		ID    int    `json:"id"`
		Label string `json:"label"`
		Size  int    `json:"size"`
		Grade string `json:"grade"`
	}
	v := struct {
		Name     string   `json:"name"`
		Hostname string   `json:"hostname"`
		PowerOn  bool     `json:"power_on"`
		Deleted  bool     `json:"deleted"`
		Discs    []disc   `json:"discs"`
		IPs      []string `json:"ips"`
	}{Name: s.Name, Hostname: s.Hostname, PowerOn: s.PowerOn, Deleted: s.Deleted, Discs: []disc{}, IPs: ips(s)}
	for _, d := range s.Discs {
		v.Discs = append(v.Discs, disc{d.ID, d.Label, d.Size, d.StorageGrade})
	}
	slices.SortFunc(v.Discs, func(a, b disc) int { return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.ID, b.ID)) })
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings, ints and bools always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ips returns s's addresses (including extra IPs), sorted, without repeats.
func ips(s *bytemark.Server) []string {
	out := []string{}
	for _, nic := range s.NetworkInterfaces {
		out = append(out, nic.IPs...)
		for ip := range nic.ExtraIPs {
			out = append(out, ip)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Describe returns the fields an approver or reader is shown of s.
func Describe(s *bytemark.Server) []Field {
	state := power(s)
	if s.Deleted {
		state += " (deleted)"
	}
	fs := []Field{
		{"Server", safe(displayName(s.Name, s))},
		{"Power", state},
		{"Size", fmt.Sprintf("%s, %s memory", count(s.Cores, "core"), HumanSize(s.Memory))},
	}
	if s.ZoneName != "" {
		fs = append(fs, Field{"Zone", safe(s.ZoneName)})
	}
	if a := ips(s); len(a) > 0 {
		fs = append(fs, Field{"IP addresses", safe(strings.Join(a, ", "))})
	}
	if len(s.Discs) > 0 {
		var ds []string
		for _, d := range s.Discs {
			ds = append(ds, fmt.Sprintf("%s: %s %s", safe(d.Label), HumanSize(d.Size), safe(d.StorageGrade)))
		}
		fs = append(fs, Field{"Discs", strings.Join(ds, "\n")})
	}
	return fs
}
