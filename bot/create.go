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
	return e.openTicket(ctx, a, snap, jobMeta{Reason: reason}, channel, thread)
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
	s.updateCardWith(rctx, e.log, t.ID, news{Note: ":white_check_mark: " + summary, Outcome: slackui.OutcomeDone}, true)
	return "done", false
}
