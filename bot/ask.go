package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

// ask reads the server, opens an approval ticket with what the approvers
// will see and posts its card.
func (e *execution) ask(ctx context.Context, a commands.Action, channel, thread, reason string) (string, bool) {
	s := e.s
	if c, ok := a.(commands.Create); ok {
		return e.askCreate(ctx, c, channel, thread, reason) // no server yet (create.go)
	}
	srv, err := s.api.GetServer(ctx, a.Server())
	if err != nil {
		e.logErr("reading server for approval card", err)
		e.post(ctx, channel, thread, fmt.Sprintf(":x: %s asked for %s: %s", slackui.Mention(e.job.RequestedBy), commands.Code(a.String()), e.cloudErrorText(a, err)))
		return "failed", true
	}
	snap, err := takeSnapshot(a.Server(), srv, commands.DiscOf(a))
	if err != nil {
		e.post(ctx, channel, thread, fmt.Sprintf(":x: %s asked for %s, but %s has no disc %s.", slackui.Mention(e.job.RequestedBy), commands.Code(a.String()), commands.Code(a.Server()), commands.Code(commands.DiscOf(a))))
		return "failed", true
	}
	if done, msg := commands.AlreadyDone(a, srv); done {
		// Nothing to approve: say so instead of asking people for nothing.
		e.post(ctx, channel, thread, fmt.Sprintf(":information_source: %s Nothing was asked or sent (for %s).", msg, slackui.Mention(e.job.RequestedBy)))
		return "nothing to do", false
	}
	power := "off"
	if srv.PowerOn {
		power = "on"
	}
	return e.openTicket(ctx, a, snap, jobMeta{Power: power, Reason: reason}, channel, thread)
}

// openTicket posts the approval card of a, with what the approvers see
// (snap), under the rule that asked for it (approvers, count and TTL), and
// opens its ticket.
func (e *execution) openTicket(ctx context.Context, a commands.Action, snap snapshot, meta jobMeta, channel, thread string) (string, bool) {
	_, outcome, failed := e.openTicketWith(ctx, a, snap.String(), snap.Server, e.approval(a), meta, channel, thread)
	return outcome, failed
}

// openTicketWith posts the approval card of a, showing snapshot (of server,
// when a has one), under decision d, and opens its ticket; it returns the
// ticket (zero unless opened) and the job's outcome.
func (e *execution) openTicketWith(ctx context.Context, a commands.Action, snapshot, server string, d policy.Decision, meta jobMeta, channel, thread string) (approvals.Ticket, string, bool) {
	s := e.s
	if len(d.Approvers) == 0 {
		e.post(ctx, channel, thread, fmt.Sprintf(":no_entry: Not running %s (for %s): %s", commands.Code(a.String()), slackui.Mention(e.job.RequestedBy), d.Explanation))
		return approvals.Ticket{}, "refused: policy", true
	}
	jm := jobMetaOf(e.job)
	meta.Req, meta.ResponseURL, meta.ResponseAt = jm.Req, jm.ResponseURL, jm.ResponseAt
	req := ticketRequest(approvals.Request{
		ID:          approvals.NewTicketID(),
		Command:     a.String(),
		RequestedBy: e.job.RequestedBy,
		Channel:     channel,
		Snapshot:    snapshot,
		Server:      server,
		Meta:        meta.encode(nil),
	}, d)
	// The card goes up before the ticket is opened, so that where the
	// bot can't post (a private channel or DM it is not in) nothing is
	// opened at all, and so that the ticket records its card in the same
	// write that opens it: a click always finds the card to update.
	now := s.Now()
	draft := approvals.Ticket{ID: req.ID, Command: req.Command, RequestedBy: req.RequestedBy, Channel: channel,
		Snapshot: req.Snapshot, Server: req.Server, Required: req.Required, State: approvals.StatePending,
		Approvers: []string{}, CreatedAt: now, ExpiresAt: now.Add(req.TTL), Meta: req.Meta,
		Eligible: req.Eligible, Rule: req.Rule}
	ts, err := s.Poster.Post(ctx, channel, thread, card(draft, now, news{}))
	if err != nil {
		if errors.Is(err, ErrCantPost) {
			outcome, failed := e.cantAsk(ctx, a, err)
			return approvals.Ticket{}, outcome, failed
		}
		e.logErr("posting approval card; no ticket opened", err, "ticket", req.ID)
		return approvals.Ticket{}, "failed", true
	}
	req.MessageChannel, req.MessageTS = channel, ts
	t, err := s.Store.Submit(ctx, req)
	if err != nil {
		e.logErr("opening ticket", err, "ticket", req.ID)
		// The card is up but asks for nothing: say so on it.
		msg := fmt.Sprintf(":x: Couldn't open an approval request for %s (ref %s). Nothing was done; try again.", commands.Code(a.String()), e.ref())
		rctx, cancel := s.reporting(ctx)
		defer cancel()
		if err := s.Poster.Update(rctx, channel, ts, slackui.Text(msg)); err != nil {
			e.logErr("updating a card whose ticket wasn't opened", err, "ticket", req.ID)
		}
		return approvals.Ticket{}, "failed", true
	}
	s.metrics.approvals.WithLabelValues("requested").Inc()
	e.settled = true
	e.s.respond(ctx, e.log, meta, Response{Replace: true, Message: slackui.Text(fmt.Sprintf(
		"Asked for approval of %s: the card is posted in this channel (ticket `%s`; `/bytemark cancel %s` withdraws it).",
		commands.Code(a.String()), t.ID, t.ID))})
	return t, "asked", false
}

// cantAsk ends a request that needs an approval card where the bot can't
// post one (err): the person who asked is told why and how to fix it, and
// no ticket is opened.
func (e *execution) cantAsk(ctx context.Context, a commands.Action, err error) (string, bool) {
	where := "ask in a channel I'm in"
	if ch := e.s.Config.Channel; ch != "" {
		where += ", such as <#" + ch + ">"
	}
	msg := fmt.Sprintf(":no_entry: %s needs approval, and I can't post an approval card here: this is a private channel or a DM I'm not in, "+
		"so no one else could see it to approve it. Nothing was done, and nothing is waiting. "+
		"To ask here, %s and ask again; or %s.", commands.Code(a.String()), msgInviteMe, where)
	e.settled = true
	if !e.s.respond(ctx, e.log, jobMetaOf(e.job), Response{Replace: true, Message: slackui.Text(msg)}) {
		e.logErr("can't post an approval card in the channel, nor tell the person who asked", err, "channel", e.job.Channel)
	} else {
		e.log.Warn("can't post an approval card in the channel; the person who asked was told", "err", err)
	}
	return "refused: can't post here", true
}
