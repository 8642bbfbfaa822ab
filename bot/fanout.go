package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

// Targets of many servers: a power action on `group:staging` or `web*`
// (commands.Many). One job carries the request:
//
//  1. judge resolves the target to its servers (deleted ones are skipped,
//     and said so) and decides the action on each with the policy. A
//     refusal by any rule refuses the lot, saying which server and rule;
//     otherwise the strictest rule that matches any of them (the most
//     approvals) decides. More servers than BLAST_RADIUS need approval
//     even where the rules would run them at once: from the approvers of
//     the strictest rule that names approvers for any of them.
//  2. The list is shown before anything runs: on the approval card, whose
//     ticket keeps it (its snapshot), or at the head of the report.
//  3. Each server's action runs on its own, all at the same time, each
//     under that server's lock (server:<id>) and its own at-most-once
//     marker, named by the ID it was listed with; one failure stops no
//     other. An approved ticket runs exactly the servers its card listed.
//  4. One message reports them, a line per server, updated as each one
//     finishes (fanout_run.go), and every server's run is audited on its
//     own.

// maxTargets is the most servers one target may reach: the card and the
// report list every one of them, and they all run in one job's time.
const maxTargets = 50

// A fanServer is one server a target resolved to, as listed.
type fanServer struct {
	ID       int    `json:"id"`
	Name     string `json:"name"` // canonical: name.group.account
	Hostname string `json:"hostname"`
	Power    string `json:"power,omitempty"` // "on" or "off" when listed
}

// A fanSkip is a server the target matched but leaves out, and why.
type fanSkip struct {
	Name string `json:"name"`
	Why  string `json:"why"`
}

// A fanList is a target resolved: the servers the action runs on, in name
// order, and those skipped. Its JSON is the snapshot of a fan-out ticket.
type fanList struct {
	Target  string      `json:"target"` // as typed: "web*", "group:staging"
	Group   string      `json:"group"`  // the group resolved, group.account
	Servers []fanServer `json:"servers"`
	Skipped []fanSkip   `json:"skipped,omitempty"`
}

// String returns the list's JSON.
func (l fanList) String() string {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err) // strings and ints always marshal
	}
	return string(b)
}

// parseFanList reads a fan-out ticket's snapshot; ok is false for any
// other snapshot.
func parseFanList(s string) (fanList, bool) {
	var l fanList
	if json.Unmarshal([]byte(s), &l) != nil || l.Target == "" || l.Servers == nil {
		return fanList{}, false
	}
	return l, true
}

// names returns the canonical names of the listed servers.
func (l fanList) names() []string {
	var ns []string
	for _, s := range l.Servers {
		ns = append(ns, s.Name)
	}
	return ns
}

// skippedText says which servers were skipped and why, or "".
func (l fanList) skippedText() string {
	if len(l.Skipped) == 0 {
		return ""
	}
	var parts []string
	for _, s := range l.Skipped {
		parts = append(parts, commands.Code(s.Name)+" ("+commands.Escape(s.Why)+")")
	}
	return "Skipped: " + strings.Join(parts, ", ") + "."
}

// A fanPlan is what judge made of a job on many servers.
type fanPlan struct {
	list    fanList
	err     error           // the target couldn't be resolved
	decErr  error           // the policy couldn't be asked
	refusal string          // why the policy refuses the lot
	refused string          // the server it refuses, for the audit log
	d       policy.Decision // the decision on the lot (Approvals > 0: ask)
	why     string          // why approval is asked for, for the card
}

// asks reports whether the plan is to post an approval card.
func (p *fanPlan) asks() bool {
	return p.err == nil && p.decErr == nil && p.refusal == "" && len(p.list.Servers) > 0 && p.d.Approvals > 0
}

// runs reports whether the plan is to run the action at once.
func (p *fanPlan) runs() bool {
	return p.err == nil && p.decErr == nil && p.refusal == "" && len(p.list.Servers) > 0 && p.d.Approvals == 0
}

// judgeMany plans a job whose action is on many servers, and reports
// whether it is one. An approved ticket's job is decided again when it
// runs, on the servers its card listed (runManyTicket).
func (e *execution) judgeMany(ctx context.Context) bool {
	a, err := commands.Parse(e.job.Command)
	m, ok := a.(commands.Many)
	if err != nil || !ok {
		return false
	}
	if e.job.TicketID != "" {
		return true
	}
	p := &fanPlan{}
	e.fan = p
	if p.list, p.err = e.s.resolveMany(ctx, m); p.err != nil || len(p.list.Servers) == 0 {
		return true
	}
	p.d, p.refused, p.refusal, p.decErr = e.s.decideMany(ctx, m, p.list, e.job.RequestedBy, e.job.Channel)
	if p.decErr == nil && p.refusal == "" && p.d.Approvals > 0 {
		p.why = p.d.Explanation
		if n := len(p.list.Servers); n > e.s.Config.BlastRadius {
			p.why = fmt.Sprintf("%s reaches %d servers, more than BLAST_RADIUS (%d). %s", commands.Code(m.String()), n, e.s.Config.BlastRadius, p.d.Explanation)
		}
	}
	return true
}

// resolveMany resolves m's target to the servers of its group that it
// matches, deleted ones skipped.
func (s *Server) resolveMany(ctx context.Context, m commands.Many) (fanList, error) {
	probe := "x" // a server name in the target's group, for its defaults
	if m.Target.Group != "" {
		probe += "." + m.Target.Group
	}
	n, err := s.api.ResolveName(ctx, probe)
	if err != nil {
		return fanList{}, err
	}
	l := fanList{Target: m.Target.String(), Group: n.Group + "." + n.Account, Servers: []fanServer{}}
	servers, err := s.api.ListAllServers(ctx, l.Group)
	var unknown *bytemark.UnknownGroupError
	if errors.As(err, &unknown) {
		return l, &commands.UsageError{Msg: fmt.Sprintf("I can't find group %s (or this bot's Bytemark account can't see it), so %s reaches no server.",
			commands.Code(l.Group), commands.Code(m.String()))}
	}
	if err != nil {
		return l, err
	}
	for _, srv := range servers {
		id, err := bytemark.IdentityOf(srv)
		if err != nil {
			if m.Target.Match(srv.Name) {
				s.Logger.Warn("a server of a target can't be identified; skipped", "server", srv.Name, "group", l.Group, "err", err)
				l.Skipped = append(l.Skipped, fanSkip{Name: srv.Name + "." + l.Group, Why: "the API's description of it is not a server name"})
			}
			continue
		}
		if !m.Target.Match(id.Name.Server) {
			continue
		}
		if srv.Deleted {
			l.Skipped = append(l.Skipped, fanSkip{Name: id.Name.String(), Why: "deleted"})
			continue
		}
		power := "off"
		if srv.PowerOn {
			power = "on"
		}
		l.Servers = append(l.Servers, fanServer{ID: id.ID, Name: id.Name.String(), Hostname: id.Hostname, Power: power})
	}
	slices.SortFunc(l.Servers, func(a, b fanServer) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(l.Skipped, func(a, b fanSkip) int { return strings.Compare(a.Name, b.Name) })
	if len(l.Servers) > maxTargets {
		return l, &commands.UsageError{Msg: fmt.Sprintf("%s reaches %d servers; one command may reach at most %d. Narrow it with a glob, e.g. `web*`.",
			commands.Code(m.String()), len(l.Servers), maxTargets)}
	}
	return l, nil
}

// decideMany decides m on every server of list: the decision on the lot,
// or a refusal (the server it refuses, and why). More servers than
// BLAST_RADIUS need at least one approval.
func (s *Server) decideMany(ctx context.Context, m commands.Many, list fanList, user, channel string) (d policy.Decision, refused, refusal string, err error) {
	p := s.Policy()
	var strictest *policy.Decision
	for _, srv := range list.Servers {
		d, err := p.Decide(ctx, policy.Request{Action: m.For(srv.Name), User: user, Channel: channel}, s.memberOf)
		if err != nil {
			return policy.Decision{}, "", "", err
		}
		if !d.Allowed {
			return d, srv.Name, fmt.Sprintf("%s reaches %d servers, and the policy refuses it on %s, so none of them is done. %s",
				commands.Code(m.String()), len(list.Servers), commands.Code(srv.Name), d.Explanation), nil
		}
		if strictest == nil || d.Approvals > strictest.Approvals {
			strictest = &d
		}
	}
	d = *strictest
	n := len(list.Servers)
	if n <= s.Config.BlastRadius || d.Approvals > 0 {
		return d, "", "", nil
	}
	// The rules run each of them at once, but not this many together:
	// the approvers of the strictest rule that names approvers for any
	// of them decide.
	var card *policy.Decision
	for _, srv := range list.Servers {
		c := p.ForCard(m.For(srv.Name), srv.Name)
		if c.Rule >= 0 && len(c.Approvers) > 0 && (card == nil || c.Approvals > card.Approvals) {
			card = &c
		}
	}
	if card == nil {
		fix := "add approvers to a rule for " + m.Name()
		if d.RuleLabel != "" {
			fix = "add approvers to " + d.RuleLabel
		}
		return d, list.Servers[0].Name, fmt.Sprintf("%s reaches %d servers, more than BLAST_RADIUS (%d), so it needs approval, and no rule that matches them names approvers. "+
			"To allow it, %s, or name at most %d servers at a time.", commands.Code(m.String()), n, s.Config.BlastRadius, commands.Escape(fix), s.Config.BlastRadius), nil
	}
	return *card, "", "", nil
}

// runMany runs a job whose action is on many servers: the plan judge
// made, or an approved ticket's servers.
func (e *execution) runMany(ctx context.Context, m commands.Many) (string, bool) {
	if e.job.TicketID != "" {
		return e.runManyTicket(ctx, m)
	}
	if p := e.fan; p != nil && p.runs() {
		return e.fanRun(ctx, m, e.fan.list, fanReport{channel: e.job.Channel, thread: e.job.ThreadTS, key: "exec:job:" + e.job.ID})
	}
	// Every other ending is the job's alone (each server's run counts its own).
	outcome, failed := e.endMany(ctx, m)
	e.s.metrics.executions.WithLabelValues(m.Name(), strings.TrimPrefix(outcome, "refused: ")).Inc()
	return outcome, failed
}

// endMany ends a job on many servers that runs none of them: it can't be
// resolved or decided, reaches none, is refused, or asks for approval.
func (e *execution) endMany(ctx context.Context, m commands.Many) (string, bool) {
	p := e.fan
	ch, thread, who := e.job.Channel, e.job.ThreadTS, slackui.Mention(e.job.RequestedBy)
	switch {
	case p == nil:
		e.log.Error("a job on many servers was not planned")
		e.post(ctx, ch, thread, fmt.Sprintf(":x: Not running %s (ref %s). Try again.", commands.Code(m.String()), e.ref()))
		return "failed", true
	case p.err != nil:
		if usage := (*commands.UsageError)(nil); !errors.As(p.err, &usage) {
			e.logErr("resolving a target of many servers", p.err)
		}
		e.post(ctx, ch, thread, fmt.Sprintf(":x: Not running %s (for %s): %s", commands.Code(m.String()), who, slackui.ErrorText(p.err, e.ref())))
		return "failed", true
	case len(p.list.Servers) == 0:
		msg := fmt.Sprintf(":grey_question: %s (for %s) matches no server in group %s, so nothing was done.", commands.Code(m.String()), who, commands.Code(p.list.Group))
		if sk := p.list.skippedText(); sk != "" {
			msg += " " + sk
		}
		e.post(ctx, ch, thread, msg)
		return "no servers", false
	case p.decErr != nil:
		e.decErr = p.decErr
		return e.refuse(ctx, m)
	case p.refusal != "":
		e.log.Warn("refused by the policy", "server", p.refused, "rule", p.d.RuleLabel)
		e.post(ctx, ch, thread, fmt.Sprintf(":no_entry: Not running %s (for %s): %s", commands.Code(m.String()), who, p.refusal))
		e.auditEach(ctx, m, []fanServer{{Name: p.refused}}, "", "refused: policy", p.refusal)
		return "refused: policy", true
	}
	return e.askMany(ctx, m, p)
}

// askMany opens an approval ticket for m on the listed servers and posts
// its card, which lists them.
func (e *execution) askMany(ctx context.Context, m commands.Many, p *fanPlan) (string, bool) {
	ch, thread := e.job.Channel, e.job.ThreadTS
	meta := jobMeta{Power: powerOf(p.list), Reason: p.why}
	t, outcome, failed := e.openTicketWith(ctx, m, p.list.String(), "", p.d, meta, ch, thread)
	if t.ID != "" {
		e.auditEach(ctx, m, p.list.Servers, t.ID, "requested", fmt.Sprintf("one of %d servers of %s", len(p.list.Servers), m.String()))
	}
	return outcome, failed
}

// powerOf says how many of the listed servers were on and off.
func powerOf(l fanList) string {
	on := 0
	for _, s := range l.Servers {
		if s.Power == "on" {
			on++
		}
	}
	return fmt.Sprintf("%d on, %d off", on, len(l.Servers)-on)
}

// manySubject is what a card about many servers shows: the target, and the
// servers it was listed with.
func manySubject(l fanList, power string) slackui.Subject {
	sub := slackui.Subject{Name: fmt.Sprintf("%s in %s (%d servers)", l.Target, l.Group, len(l.Servers)), Power: power, Servers: l.names()}
	for _, sk := range l.Skipped {
		sub.Skipped = append(sub.Skipped, sk.Name+" ("+sk.Why+")")
	}
	return sub
}

// runManyTicket runs an approved ticket's action on the servers its card
// listed, after deciding them again with the policy in force.
func (e *execution) runManyTicket(ctx context.Context, m commands.Many) (string, bool) {
	s := e.s
	t, err := s.Store.Get(ctx, e.job.TicketID)
	if err != nil {
		e.logErr("reading the ticket of a job", err)
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Not running %s: its approval can't be read (ref %s).", commands.Code(m.String()), e.ref()))
		return "failed", true
	}
	rctx, cancel := s.reporting(ctx)
	defer cancel()
	list, ok := parseFanList(t.Snapshot)
	if t.State != approvals.StateApproved || t.Command != e.job.Command || !ok {
		e.log.Error("job for a ticket that is not an approved one on many servers", "state", t.State, "ticket_command", t.Command)
		s.reply(rctx, e.log, t, fmt.Sprintf(":x: Not running %s: the request is %s, not approved.", commands.Code(m.String()), t.State))
		return "refused", true
	}
	_, refused, refusal, err := s.decideMany(ctx, m, list, t.RequestedBy, t.Channel)
	switch {
	case err != nil:
		why := fmt.Sprintf("the policy couldn't be checked (ref %s). Ask again.", e.ref())
		if ge := (*groupError)(nil); errors.As(err, &ge) {
			why = ge.why("ask for it")
		} else {
			e.logErr("deciding with the policy", err)
		}
		s.reply(rctx, e.log, t, ":x: Not running it: "+why)
		s.updateCardWith(rctx, e.log, t.ID, news{Note: ":x: Not run: the policy couldn't be checked.", Outcome: slackui.OutcomeRefused}, true)
		return "failed", true
	case refusal != "":
		// Decided again: a rule that refuses one of them now stops the lot.
		e.log.Warn("approved ticket refused by the policy in force", "server", refused)
		s.reply(rctx, e.log, t, ":no_entry: Not running it after all: "+refusal)
		s.updateCardWith(rctx, e.log, t.ID, news{Note: ":no_entry: Not run: the policy in force refuses it.", Outcome: slackui.OutcomeRefused}, true)
		e.auditEach(ctx, m, []fanServer{{Name: refused}}, t.ID, "refused: policy", refusal)
		return "refused: policy", true
	}
	s.updateCard(ctx, e.log, t.ID, ":gear: Running…", true)
	outcome, failed := e.fanRun(ctx, m, list, fanReport{channel: t.MessageChannel, thread: t.MessageTS, key: "exec:" + t.ID,
		ticket: t.ID, requester: t.RequestedBy, approvers: t.Approvers})
	note := ":white_check_mark: Done on every server; the thread has each one's result."
	if failed {
		note = ":warning: " + commands.Escape(outcome) + "; the thread has each server's result."
	}
	done := news{Note: note, Outcome: slackui.OutcomeDone}
	if failed {
		done.Outcome = slackui.OutcomeFailed
	}
	s.updateCardWith(rctx, e.log, t.ID, done, true)
	return outcome, failed
}

// auditEach audits m on each of servers (an outcome of the lot: asked
// for, refused).
func (e *execution) auditEach(ctx context.Context, m commands.Many, servers []fanServer, ticket, outcome, detail string) {
	var es []approvals.Entry
	for _, srv := range servers {
		es = append(es, approvals.Entry{Actor: e.job.RequestedBy, Action: m.For(srv.Name).String(), Server: srv.Name,
			Ticket: ticket, Outcome: outcome, Detail: e.fanDetail(srv, detail)})
	}
	rctx, cancel := e.s.reporting(ctx)
	defer cancel()
	if err := e.s.Store.AuditEach(rctx, es...); err != nil {
		e.logErr("auditing the servers of a target", err)
	}
}

// fanDetail is the audit detail of one server's part in the job.
func (e *execution) fanDetail(srv fanServer, detail string) string {
	d := "job " + e.job.ID
	if srv.ID > 0 {
		d += fmt.Sprintf(" server %d", srv.ID)
	}
	if detail != "" {
		d += ": " + detail
	}
	return d
}

// ListAllServers implements Cloud.
func (c *timedCloud) ListAllServers(ctx context.Context, group string) ([]bytemark.Server, error) {
	start := time.Now()
	v, err := c.Cloud.ListAllServers(ctx, group)
	c.observe("list_all_servers", start, err)
	return v, err
}
