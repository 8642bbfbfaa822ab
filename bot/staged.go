package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// Staged purges (PURGE_GRACE). An approved purge of a server that is not
// yet deleted does not purge it: it soft-deletes it at once (by ID, as the
// approvers saw it) and stages the purge on the ticket, due at the end of
// the grace (approvals.StagePurge). The card becomes a countdown with an
// Undo button (undo.go). When the purge falls due, the sweeper queues it
// as a job, once across replicas (approvals.PurgesDue); the job checks that
// the server is still deleted and still what the approvers saw, marks the
// purge begun (an Undo after that is too late) and purges it by ID. A
// server that was already deleted is purged at once: its grace was the
// deletion. Disc purges and reimages are not staged: nothing undeletes them.

// DefaultPurgeGrace is Config.PurgeGrace's default.
const DefaultPurgeGrace = 30 * time.Minute

// PurgeAtOnce as Config.PurgeGrace purges an approved purge at once, as
// PURGE_GRACE=0s does.
const PurgeAtOnce time.Duration = -1

// inUse reports whether an approval card for command must say in bold
// that its server is in use now: it purges a server that is running and
// was never deleted.
func inUse(command string, snap snapshot, power string) bool {
	a, err := commands.Parse(command)
	return err == nil && commands.PurgesServer(a) && power == "on" && !snap.Deleted
}

// stages reports whether the approved action a, on srv, is staged rather
// than run.
func (s *Server) stages(a commands.Action, srv *bytemark.Server) bool {
	return commands.PurgesServer(a) && s.Config.PurgeGrace > 0 && !srv.Deleted
}

// stage soft-deletes the server of approved purge ticket t and stages the
// purge for the end of the grace. A retry (the worker that staged it died)
// finds it staged and makes sure the server is deleted.
func (e *execution) stage(ctx context.Context, a commands.Action, t approvals.Ticket) (string, bool) {
	s := e.s
	rctx, cancel := s.reporting(ctx)
	defer cancel()
	at := s.Now().Add(s.Config.PurgeGrace)
	detail := fmt.Sprintf("soft-deleted; purge due at %s (PURGE_GRACE %s)", at.UTC().Format("2006-01-02 15:04:05Z"), s.Config.PurgeGrace)
	st, created, err := s.Store.StagePurge(ctx, t.ID, at, detail)
	if err != nil {
		e.logErr("staging the purge", err)
		e.s.reply(rctx, e.log, t, fmt.Sprintf(":x: Not running %s: the bot couldn't schedule the purge (ref %s). Nothing was done; ask again.", commands.Code(a.String()), e.ref()))
		s.updateCard(rctx, e.log, t.ID, ":x: Not run: the purge couldn't be scheduled.", true)
		return "failed", true
	}
	if st.Purge.State != approvals.PurgeStaged {
		// An earlier attempt staged it, and it has moved on since.
		s.updateCard(rctx, e.log, t.ID, "", true)
		return "already done", false
	}
	if !created {
		if srv, err := s.api.GetServer(ctx, a.Server()); err == nil && srv.Deleted {
			s.updateCard(rctx, e.log, t.ID, "", true)
			return "soft-deleted", false
		}
	}
	if err := e.cloudFor(a).DeleteServer(ctx, a.Server()); err != nil {
		e.logErr("soft-deleting before a staged purge", err)
		note := "the soft delete failed: " + e.cloudErrorText(a, err)
		if _, err := s.Store.EndPurge(rctx, t.ID, approvals.PurgeKept, note); err != nil {
			e.logErr("recording a staged purge not run", err)
		}
		e.s.reply(rctx, e.log, t, fmt.Sprintf(":x: %s failed: %s Nothing will be purged.", commands.Code(a.String()), note))
		s.updateCard(rctx, e.log, t.ID, "", true)
		return "failed", true
	}
	e.s.reply(rctx, e.log, t, fmt.Sprintf(":hourglass_flowing_sand: %s is deleted (down, recoverable) and will be purged at %s unless %s or an approver presses *Undo* on the card.",
		commands.Code(a.Server()), slackui.Time(st.Purge.At, s.Now()), slackui.Mention(t.RequestedBy)))
	s.updateCard(rctx, e.log, t.ID, "", true)
	return "soft-deleted", false
}

// stagedDue queues the staged purges that are due (the sweeper).
func (s *Server) stagedDue(ctx context.Context) {
	if _, err := s.Store.PurgesDue(ctx); err != nil && ctx.Err() == nil {
		s.Logger.Error("queueing staged purges that are due", "err", err)
	}
}

// runStaged runs a staged purge that fell due: it purges the server once,
// if it is still deleted and still what the approvers saw, and no one
// pressed Undo.
func (e *execution) runStaged(ctx context.Context, a commands.Action) (string, bool) {
	s := e.s
	t, err := s.Store.Get(ctx, e.job.TicketID)
	if err != nil {
		e.logErr("reading the ticket of a staged purge", err)
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Not purging %s: its ticket can't be read (ref %s). The server stays deleted.", commands.Code(a.Server()), e.ref()))
		return "failed", true
	}
	rctx, cancel := s.reporting(ctx)
	defer cancel()
	end := func(state, outcome, note, msg string, failed bool) (string, bool) {
		if _, err := s.Store.EndPurge(rctx, t.ID, state, note); err != nil {
			e.logErr("recording how a staged purge ended", err)
		}
		if msg != "" {
			s.reply(rctx, e.log, t, msg)
		}
		s.updateCard(rctx, e.log, t.ID, "", true)
		return outcome, failed
	}
	switch t.Purge.State {
	case approvals.PurgeUndone:
		return "undone", false
	case approvals.PurgePurged, approvals.PurgeKept:
		return "already done", false
	}
	was, ok := parseSnapshot(t.Snapshot)
	if id, idOK := identityOf(was); ok && idOK {
		e.setID(id)
	} else {
		return end(approvals.PurgeKept, "failed", "the approved server can't be identified.",
			fmt.Sprintf(":x: Not purging %s: the approved server can't be identified (ref %s). It stays deleted.", commands.Code(a.Server()), e.ref()), true)
	}
	srv, err := s.api.GetServer(ctx, a.Server())
	switch {
	case bytemark.IsNotFound(err) && t.Purge.State == approvals.PurgePurging:
		// An earlier attempt purged it and died before it could say so.
		return end(approvals.PurgePurged, "purged", "",
			fmt.Sprintf(":white_check_mark: %s is already purged; nothing more to do.", commands.Code(a.Server())), false)
	case bytemark.IsNotFound(err):
		return end(approvals.PurgeKept, "gone", "the server no longer exists.",
			fmt.Sprintf(":grey_question: %s no longer exists, so there is nothing to purge.", commands.Code(a.Server())), true)
	case err != nil:
		e.logErr("reading the server before a staged purge", err)
		note := "the server couldn't be read: " + e.cloudErrorText(a, err) + " It stays deleted; ask again to purge it."
		return end(approvals.PurgeKept, "failed", note, ":x: Not purged: "+note, true)
	case srv.ID != was.ID:
		note := fmt.Sprintf("%s is a different server now (id %d, was %d). Nothing was purged.", commands.Code(a.Server()), srv.ID, was.ID)
		return end(approvals.PurgeKept, "changed", note, ":warning: Not purged: "+note, true)
	case !srv.Deleted:
		note := fmt.Sprintf("%s is not deleted any more (someone undeleted it), so it was not purged.", commands.Code(a.Server()))
		return end(approvals.PurgeKept, "undeleted", note, ":warning: "+note, true)
	}
	now, _ := takeSnapshot(a.Server(), srv, "")
	now.Deleted = was.Deleted // the grace's own soft delete is no change
	if now.String() != t.Snapshot {
		note := fmt.Sprintf("%s changed since the approvers saw it (%s). It stays deleted; ask again to purge it.", commands.Code(a.Server()), was.diff(now))
		return end(approvals.PurgeKept, "changed", note, ":warning: Not purged: "+note, true)
	}
	switch _, err := s.Store.BeginPurge(ctx, t.ID); {
	case errors.Is(err, approvals.ErrUndone):
		return "undone", false
	case errors.Is(err, approvals.ErrTooLate):
		// An earlier attempt began and died before the purge took: the
		// server is still there, deleted and as approved; purging it by
		// its ID again can't touch anything else.
		e.log.Warn("resuming a staged purge an earlier attempt began")
	case err != nil:
		e.logErr("marking a staged purge begun", err)
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Not purging %s yet: the bot couldn't record that it was starting (ref %s).", commands.Code(a.Server()), e.ref()))
		return "failed", true
	}
	s.updateCard(ctx, e.log, t.ID, "", false)
	if err := e.cloudFor(a).PurgeServer(ctx, a.Server()); err != nil && !bytemark.IsNotFound(err) {
		e.logErr("running a staged purge", err)
		note := "the purge failed: " + e.cloudErrorText(a, err) + " The server stays deleted; ask again to purge it."
		return end(approvals.PurgeKept, "failed", note, ":x: "+commands.Code(a.String())+" failed: "+e.cloudErrorText(a, err), true)
	}
	res := commands.Result{Summary: fmt.Sprintf("%s purged at the end of its grace: the server and its discs are gone for good", commands.Code(a.Server()))}
	if _, err := s.Store.EndPurge(rctx, t.ID, approvals.PurgePurged, ""); err != nil {
		e.logErr("recording a staged purge done", err)
	}
	e.postMessage(rctx, t.MessageChannel, t.MessageTS, slackui.Result(a, res, t.RequestedBy, t.Approvers))
	s.updateCard(rctx, e.log, t.ID, "", true)
	return "purged", false
}

// keepStaged ends a staged purge that falls due but is refused before it
// runs (a protected server), so that its card shows why, without Undo.
func (e *execution) keepStaged(ctx context.Context, note string) {
	if e.job.Origin != approvals.OriginStaged || e.job.TicketID == "" {
		return
	}
	rctx, cancel := e.s.reporting(ctx)
	defer cancel()
	if _, err := e.s.Store.EndPurge(rctx, e.job.TicketID, approvals.PurgeKept, note); err != nil {
		e.logErr("recording a staged purge refused", err)
	}
	e.s.updateCard(rctx, e.log, e.job.TicketID, "", true)
}
