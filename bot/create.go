package bot

import (
	"context"
	"fmt"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// A create that waits for approval (APPROVAL_ACTIONS lists `create`) has
// no server to show yet: its card shows what will be created and what it
// costs (the snapshot of a server to be made), and the approved ticket
// creates it, checked again as the create itself checks (image, group,
// name free). The root password is made when it runs and reaches only the
// requester, privately, as for a create that needs no approval.

// createSnapshot is what the approvers of a are shown: the server it
// makes, under its canonical name.
func (e *execution) createSnapshot(ctx context.Context, a commands.Create) snapshot {
	name := a.Server()
	if n, err := e.s.api.ResolveName(ctx, name); err == nil {
		name = n.String()
	}
	snap := snapshot{Server: name, Cores: a.Cores, Memory: a.MemoryMiB, Discs: []discShape{}, Creates: true, Image: a.Distribution}
	for i, d := range a.Discs {
		if d != (commands.NewDisc{}) {
			snap.Discs = append(snap.Discs, discShape{Label: fmt.Sprintf("disc-%d", i+1), Size: d.SizeMiB, Grade: d.Grade})
		}
	}
	if len(snap.Discs) == 0 {
		snap.Discs = append(snap.Discs, discShape{Label: "disc-1", Size: bytemark.DefaultDiscSizeMiB, Grade: bytemark.DefaultStorageGrade})
	}
	return snap
}

// askCreate opens the approval ticket of a create and posts its card, once
// the create's own checks pass (a card for a create that can't be done
// would waste the approvers' time).
func (e *execution) askCreate(ctx context.Context, a commands.Create, channel, thread, reason string) (string, bool) {
	s := e.s
	if err := a.Check(ctx, s.api); err != nil {
		e.post(ctx, channel, thread, fmt.Sprintf(":x: %s asked for %s: %s", slackui.Mention(e.job.RequestedBy), commands.Code(a.String()), e.cloudErrorText(a, err)))
		return "failed", true
	}
	snap := e.createSnapshot(ctx, a)
	return e.openTicket(ctx, a, snap, jobMeta{Req: jobMetaOf(e.job).Req, Reason: reason}, channel, thread)
}

// openTicket opens an approval ticket for a with what the approvers see
// (snap), under the rule that asked for it (approvers, count and TTL), and
// posts its card.
func (e *execution) openTicket(ctx context.Context, a commands.Action, snap snapshot, meta jobMeta, channel, thread string) (string, bool) {
	s := e.s
	d := e.approval(a)
	if len(d.Approvers) == 0 {
		e.post(ctx, channel, thread, fmt.Sprintf(":no_entry: Not running %s (for %s): %s", commands.Code(a.String()), slackui.Mention(e.job.RequestedBy), d.Explanation))
		return "refused: policy", true
	}
	t, err := s.Store.Submit(ctx, ticketRequest(approvals.Request{
		Command:     a.String(),
		RequestedBy: e.job.RequestedBy,
		Channel:     channel,
		Snapshot:    snap.String(),
		Server:      snap.Server,
		Meta:        meta.encode(nil),
	}, d))
	if err != nil {
		e.logErr("opening ticket", err)
		e.post(ctx, channel, thread, fmt.Sprintf(":x: Couldn't open an approval request for %s (ref %s). Try again.", commands.Code(a.String()), e.ref()))
		return "failed", true
	}
	ts, err := s.Poster.Post(ctx, channel, thread, card(t, s.Now(), ""))
	if err != nil {
		e.logErr("posting approval card; cancelling the ticket", err, "ticket", t.ID)
		if _, err := s.Store.Cancel(ctx, t.ID, t.RequestedBy); err != nil {
			e.logErr("cancelling ticket without a card", err, "ticket", t.ID)
		}
		return "failed", true
	}
	if err := s.Store.SetMessage(ctx, t.ID, channel, ts); err != nil {
		e.logErr("recording the card of a ticket", err, "ticket", t.ID)
	}
	s.metrics.approvals.WithLabelValues("requested").Inc()
	return "asked", false
}

// runCreateTicket runs an approved create: once (claimed), under the
// lock of its name; Create.Run checks again that the name is free.
func (e *execution) runCreateTicket(ctx context.Context, a commands.Create, t approvals.Ticket, end func(*verdict) (string, bool)) (string, bool) {
	s := e.s
	if e.job.Retry {
		// The worker that ran this died: whether it created the server
		// can't be told from a name alone (it may have been free or
		// not), so an interrupted create is never repeated.
		if v := e.claim(ctx, a, "exec:"+t.ID); v != nil {
			return end(v)
		}
	}
	unlock, err := e.lockServer(ctx, a)
	if err != nil {
		e.logErr("locking the server", err)
		return end(&verdict{"failed", ":x: Not run: another action on this server took too long.",
			fmt.Sprintf(":x: Not running %s: another action on %s is still running (ref %s).", commands.Code(a.String()), commands.Code(a.Server()), e.ref()), true})
	}
	defer unlock()
	if !e.job.Retry {
		if v := e.claim(ctx, a, "exec:"+t.ID); v != nil {
			return end(v)
		}
	}
	res, err := commands.Run(ctx, e.cloudFor(a), a)
	if err != nil {
		e.logErr("running approved create", err)
		return end(&verdict{"failed", ":x: Failed: " + e.cloudErrorText(a, err), ":x: " + commands.Code(a.String()) + " failed: " + e.cloudErrorText(a, err), true})
	}
	e.postMessage(ctx, t.MessageChannel, t.MessageTS, slackui.Result(a, res, t.RequestedBy, t.Approvers))
	e.private(ctx, t.Channel, t.RequestedBy, res)
	summary := res.Summary
	if summary == "" {
		summary = "Done."
	}
	rctx, cancel := s.reporting(ctx)
	defer cancel()
	s.updateCard(rctx, e.log, t.ID, ":white_check_mark: "+summary, true)
	return "done", false
}
