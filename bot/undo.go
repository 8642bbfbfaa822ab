package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// Taking a soft delete back: Undo on a staged purge's card, and Undelete
// on the result of a plain delete. Either may be pressed by the requester
// or an approver (APPROVERS, or one who approved the ticket); the press is
// decided in one script, so that of two people pressing at once exactly
// one undeletes, and an Undo after the purge began is too late and calls
// nothing. The undelete itself (by the server's ID) follows the 200.

// An UndoClick is a press of Undo or Undelete.
type UndoClick struct {
	User string
	// ID is the button's value: the ticket (Undo) or the undelete record
	// (Undelete).
	ID       string
	Undelete bool
	// Channel is where the click happened and Bound the channel the button
	// was made for: they must match, and be the record's channel.
	Channel, Bound string
	RequestID      string
}

// Undo handles a press of Undo or Undelete. A refused press (not
// entitled, too late, already undone) is explained in the Reply, which
// only the presser should see; an accepted one has an empty Reply and
// its effect shows on the card.
func (s *Server) Undo(ctx context.Context, c UndoClick) Reply {
	if c.RequestID == "" {
		c.RequestID = newID(4)
	}
	log := s.Logger.With("req", c.RequestID, "user", c.User, "id", c.ID, "undelete", c.Undelete)
	var outcome string
	var reply Reply
	switch {
	case c.ID == "":
		outcome, reply = "refused", ephemeral("That button doesn't belong to anything.")
	case c.Channel == "" || c.Bound != c.Channel:
		outcome, reply = "refused", ephemeral("That button belongs to another channel; press it there.")
	case c.Undelete:
		outcome, reply = s.pressUndelete(ctx, log, c)
	default:
		outcome, reply = s.undoPurge(ctx, log, c)
	}
	s.metrics.approvals.WithLabelValues("undo_" + outcome).Inc()
	log.Info("undo", "outcome", outcome)
	return reply
}

// entitled reports whether user may take back what requester asked for
// and approvers approved, or what those the policy lets approve it
// (eligible: user and user-group IDs) could have approved; if not, the
// reply says why.
func (s *Server) entitled(ctx context.Context, log *slog.Logger, user, requester string, approvers, eligible []string) (bool, string, Reply) {
	if user == requester || slices.Contains(approvers, user) {
		return true, "", Reply{}
	}
	rctx, cancel := context.WithTimeout(ctx, s.Config.RequestTimeout)
	users, unknown, err := s.expand(rctx, eligible)
	cancel()
	switch {
	case err != nil:
		log.Error("expanding the approvers", "err", err)
		return false, "unavailable", ephemeral(msgUnavailable)
	case slices.Contains(users, user):
		return true, "", Reply{}
	case len(unknown) > 0:
		// The presser may be in a group that can't be checked: say so.
		for _, ge := range unknown {
			log.Warn("user group of the approvers not counted", "group", ge.Group, "fetched", ge.Fetched, "err", ge.Err)
		}
		return false, "refused", ephemeral("Nothing was undone. " + unknown[0].why("undo"))
	}
	return false, "refused", ephemeral(fmt.Sprintf("Only %s (who asked) or an approver can undo this.", slackui.Mention(requester)))
}

func (s *Server) undoPurge(ctx context.Context, log *slog.Logger, c UndoClick) (string, Reply) {
	var t approvals.Ticket
	err := s.quick(ctx, func(ctx context.Context) (err error) {
		t, err = s.Store.Get(ctx, c.ID)
		return err
	})
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		return "refused", ephemeral("That purge is no longer known.")
	case err != nil:
		log.Error("reading the ticket of an Undo", "err", err)
		return "unavailable", ephemeral(msgUnavailable)
	case t.Channel != c.Channel:
		log.Warn("Undo from another channel than the ticket's", "channel", c.Channel, "ticket_channel", t.Channel)
		return "refused", ephemeral("That button belongs to another channel; press it there.")
	}
	if ok, outcome, reply := s.entitled(ctx, log, c.User, t.RequestedBy, t.Approvers, s.eligible(t)); !ok {
		return outcome, reply
	}
	err = s.quick(ctx, func(ctx context.Context) (err error) {
		t, err = s.Store.UndoPurge(ctx, c.ID, c.User)
		return err
	})
	name := commands.Code(t.Server)
	switch {
	case errors.Is(err, approvals.ErrUndone):
		return "repeat", ephemeral(fmt.Sprintf("Already undone by %s.", slackui.Mention(t.Purge.By)))
	case errors.Is(err, approvals.ErrTooLate) && t.Purge.State == approvals.PurgePurged:
		return "too_late", ephemeral(fmt.Sprintf("Too late: %s was purged %s, and a purge can't be undone. Nothing was done.", name, slackui.Time(t.Purge.EndedAt, s.Now())))
	case errors.Is(err, approvals.ErrTooLate):
		return "too_late", ephemeral(fmt.Sprintf("Too late: the purge of %s has begun, and a purge can't be undone. Nothing was done.", name))
	case errors.Is(err, approvals.ErrNotStaged):
		return "refused", ephemeral("There is no purge waiting here to undo. Nothing was done.")
	case errors.Is(err, approvals.ErrNotFound):
		return "refused", ephemeral("That purge is no longer known.")
	case err != nil:
		log.Error("undoing a staged purge", "err", err)
		return "unavailable", ephemeral(msgUnavailable)
	}
	s.Go(func() {
		ctx, cancel := background(ctx, 2*time.Minute)
		defer cancel()
		s.undeleteUndone(ctx, log, t, c.User)
	})
	return "undone", Reply{}
}

// undeleteUndone undeletes the server of ticket t, whose staged purge user
// has just undone, and says so on the card and in its thread.
func (s *Server) undeleteUndone(ctx context.Context, log *slog.Logger, t approvals.Ticket, user string) {
	snap, _ := parseSnapshot(t.Snapshot)
	name := commands.Code(t.Server)
	id, ok := identityOf(snap)
	var note string
	if !ok {
		log.Error("undoing a staged purge: the approved server can't be identified", "ticket", t.ID)
		note = fmt.Sprintf(":x: The approved server can't be identified, so it wasn't undeleted: `/bytemark undelete %s` does it.", commands.Escape(t.Server))
	} else {
		note = s.undeleteByID(ctx, log, id, user, "undelete "+id.Name.String(), t.ID)
	}
	if err := s.Store.NoteUndone(ctx, t.ID, note); err != nil {
		log.Error("recording how an Undo went", "ticket", t.ID, "err", err)
	}
	s.updateCard(ctx, log, t.ID, "", true)
	s.reply(ctx, log, t, fmt.Sprintf(":leftwards_arrow_with_hook: Undone by %s: the purge of %s is called off. %s", slackui.Mention(user), name, note))
}

// undeleteByID undeletes server id for user, audits it and returns what
// to tell people.
func (s *Server) undeleteByID(ctx context.Context, log *slog.Logger, id bytemark.Identity, user, action, ticket string) string {
	name := id.Name.String()
	err := s.api.UndeleteServerByID(ctx, id)
	entry := approvals.Entry{Actor: user, Action: action, Server: name, Ticket: ticket, Outcome: "undeleted",
		Detail: fmt.Sprintf("server %d", id.ID)}
	var note string
	switch {
	case err == nil:
		note = fmt.Sprintf(":white_check_mark: %s is undeleted; if it is off, `/bytemark start %s` powers it on.", commands.Code(name), name)
	case bytemark.IsNotFound(err):
		entry.Outcome = "gone"
		note = fmt.Sprintf(":grey_question: %s no longer exists, so there was nothing to undelete.", commands.Code(name))
	default:
		log.Error("undeleting", "server", name, "err", err)
		entry.Outcome, entry.Detail = "undelete failed", err.Error()
		note = fmt.Sprintf(":x: Undeleting %s failed: %s It is still deleted; `/bytemark undelete %s` tries again.", commands.Code(name), slackui.ErrorText(err, ""), name)
	}
	if err := s.Store.Audit(ctx, entry); err != nil {
		log.Error("auditing an undelete", "err", err)
	}
	return note
}

func (s *Server) pressUndelete(ctx context.Context, log *slog.Logger, c UndoClick) (string, Reply) {
	var u approvals.Undelete
	err := s.quick(ctx, func(ctx context.Context) (err error) {
		u, err = s.Store.GetUndelete(ctx, c.ID)
		return err
	})
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		return "refused", ephemeral("That Undelete button has expired; type `/bytemark undelete <server>` instead.")
	case err != nil:
		log.Error("reading an undelete", "err", err)
		return "unavailable", ephemeral(msgUnavailable)
	case u.Channel != c.Channel:
		return "refused", ephemeral("That button belongs to another channel; press it there.")
	}
	// Who may approve the delete: its ticket's rule, or, without a ticket,
	// the policy's for such a card.
	deleted := approvals.Ticket{Command: u.Command, Server: u.Server}
	if u.Ticket != "" {
		if t, err := s.Store.Get(ctx, u.Ticket); err == nil {
			deleted = t
		}
	}
	if ok, outcome, reply := s.entitled(ctx, log, c.User, u.RequestedBy, u.Approvers, s.eligible(deleted)); !ok {
		return outcome, reply
	}
	err = s.quick(ctx, func(ctx context.Context) (err error) {
		u, err = s.Store.PressUndelete(ctx, c.ID, c.User)
		return err
	})
	switch {
	case errors.Is(err, approvals.ErrUndone):
		return "repeat", ephemeral(fmt.Sprintf("Already pressed by %s.", slackui.Mention(u.By)))
	case errors.Is(err, approvals.ErrNotFound):
		return "refused", ephemeral("That Undelete button has expired; type `/bytemark undelete <server>` instead.")
	case err != nil:
		log.Error("pressing Undelete", "err", err)
		return "unavailable", ephemeral(msgUnavailable)
	}
	s.Go(func() {
		ctx, cancel := background(ctx, 2*time.Minute)
		defer cancel()
		n, err := bytemark.ParseName(u.Hostname)
		var note string
		if err != nil || u.ServerID <= 0 {
			log.Error("an undelete without its server's identity", "undelete", u.ID, "err", err)
			note = fmt.Sprintf(":x: The server can't be identified, so it wasn't undeleted: `/bytemark undelete %s` does it.", commands.Escape(u.Server))
		} else {
			id := bytemark.Identity{ID: u.ServerID, Name: n.Short(), Hostname: n.String()}
			note = s.undeleteByID(ctx, log, id, c.User, "undelete "+u.Server, u.Ticket)
		}
		if u.MessageTS != "" {
			if err := s.Poster.Update(ctx, u.MessageChannel, u.MessageTS, slackui.UndeleteResult(u, s.Now(), note)); err != nil {
				log.Error("updating a delete's result", "err", err)
			}
		}
	})
	return "undeleted", Reply{}
}

// postResult posts the result of a in channel (thread), for requester and
// approvers; a soft delete's result carries an Undelete button.
func (e *execution) postResult(ctx context.Context, a commands.Action, res commands.Result, channel, thread, requester string, approvers []string, ticket string) {
	m := slackui.Result(a, res, requester, approvers)
	if _, ok := a.(commands.Delete); !ok || e.id.ID <= 0 {
		e.postMessage(ctx, channel, thread, m)
		return
	}
	if channel == "" {
		channel = e.s.Config.Channel
	}
	rctx, cancel := e.s.reporting(ctx)
	defer cancel()
	id, err := e.s.Store.OpenUndelete(rctx, approvals.Undelete{Command: a.String(), Server: e.id.Name.String(), ServerID: e.id.ID,
		Hostname: e.id.Hostname, RequestedBy: requester, Approvers: approvers, Ticket: ticket, Channel: channel})
	if err != nil {
		e.logErr("recording a delete's Undelete button; posting the result without it", err)
		e.postMessage(ctx, channel, thread, m)
		return
	}
	if ts := e.postMessage(ctx, channel, thread, slackui.WithUndelete(m, id, channel, e.id.Name.String())); ts != "" {
		if err := e.s.Store.SetUndeleteMessage(rctx, id, channel, ts); err != nil {
			e.logErr("recording where a delete's result is", err)
		}
	}
}
