package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
)

// ask reads the server, opens an approval ticket with what the approvers
// will see and posts its card.
func (e *execution) ask(ctx context.Context, a commands.Action, channel, thread, reason string) (string, bool) {
	s := e.s
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
	power := "off"
	if srv.PowerOn {
		power = "on"
	}
	jm := jobMetaOf(e.job)
	meta := jobMeta{Power: power, Req: jm.Req, Reason: reason, ResponseURL: jm.ResponseURL, ResponseAt: jm.ResponseAt}
	req := approvals.Request{
		ID:          approvals.NewTicketID(),
		Command:     a.String(),
		RequestedBy: e.job.RequestedBy,
		Channel:     channel,
		Snapshot:    snap.String(),
		Server:      a.Server(),
		Required:    s.Config.ApprovalsRequired,
		TTL:         s.Config.ApprovalTTL,
		Meta:        meta.encode(nil),
	}
	// The card goes up before the ticket is opened, so that where the
	// bot can't post (a private channel or DM it is not in) nothing is
	// opened at all, and so that the ticket records its card in the same
	// write that opens it: a click always finds the card to update.
	now := s.Now()
	draft := approvals.Ticket{ID: req.ID, Command: req.Command, RequestedBy: req.RequestedBy, Channel: channel,
		Snapshot: req.Snapshot, Server: req.Server, Required: req.Required, State: approvals.StatePending,
		Approvers: []string{}, CreatedAt: now, ExpiresAt: now.Add(req.TTL), Meta: req.Meta}
	ts, err := s.Poster.Post(ctx, channel, thread, card(draft, now, news{}))
	if err != nil {
		if errors.Is(err, ErrCantPost) {
			return e.cantAsk(ctx, a, err)
		}
		e.logErr("posting approval card; no ticket opened", err, "ticket", req.ID)
		return "failed", true
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
		return "failed", true
	}
	s.metrics.approvals.WithLabelValues("requested").Inc()
	e.settled = true
	e.s.respond(ctx, e.log, meta, Response{Replace: true, Message: slackui.Text(fmt.Sprintf(
		"Asked for approval of %s: the card is posted in this channel (ticket `%s`; `/bytemark cancel %s` withdraws it).",
		commands.Code(a.String()), t.ID, t.ID))})
	return "asked", false
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
