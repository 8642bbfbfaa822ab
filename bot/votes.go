package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
)

// Vote records user's approval or denial of a ticket. It is for transports
// that cannot click in the wrong channel (the console); Slack clicks go
// through the interaction handlers, which also check the channel. A refused
// vote (self-approval, not an approver, already decided, expired) is
// explained in the Reply, which only the voter should see; a counted one has
// an empty Reply and its effect shows on the card.
func (s *Server) Vote(ctx context.Context, user, ticketID string, approve bool) Reply {
	return s.Click(ctx, Click{User: user, TicketID: ticketID, Approve: approve})
}

// A Click is a vote from a card's button.
type Click struct {
	User, TicketID string
	Approve        bool
	// Channel is where the click happened and Bound the channel the button
	// was made for; when Channel is set they must match, and Channel must
	// be the ticket's channel (checked by the vote itself).
	Channel, Bound string
	RequestID      string
	// Name is the server's name as the voter typed it: an approval of an
	// irreversible action (a purge, a disc purge, a reimage) counts only
	// with a name of its server (confirm.go). Other votes ignore it.
	Name string

	ticket *approvals.Ticket // read already (Press), when not nil
}

// Click records a vote from a card's button: the card must have been
// posted in the channel it was bound to.
func (s *Server) Click(ctx context.Context, c Click) Reply {
	if c.RequestID == "" {
		c.RequestID = newID(4)
	}
	log := s.Logger.With("req", c.RequestID, "user", c.User, "ticket", c.TicketID, "approve", c.Approve)
	outcome, reply := s.castVote(ctx, log, c)
	s.metrics.approvals.WithLabelValues(outcome).Inc()
	log.Info("vote", "outcome", outcome)
	return reply
}

// castVote checks and records a click on a card and returns the outcome
// (the metric label) and the answer for the clicker.
func (s *Server) castVote(ctx context.Context, log *slog.Logger, c Click) (string, Reply) {
	if c.TicketID == "" {
		return "refused", ephemeral("That button doesn't belong to any ticket.")
	}
	if c.Channel != "" && c.Bound != c.Channel {
		return "refused", ephemeral("That approval request belongs to another channel; vote there.")
	}
	if c.ticket == nil && c.Channel != "" {
		// Not read yet (a Deny, a submitted modal): wait for a ticket a
		// moment younger than its card. It is read once for the checks
		// below (issue 20).
		t, err := s.ticketOf(ctx, c.TicketID)
		switch {
		case err == nil:
			c.ticket = &t
		case !errors.Is(err, approvals.ErrNotFound):
			log.Error("reading a ticket for a vote", "err", err)
			return "unavailable", ephemeral(msgUnavailable)
		}
	}
	if c.Approve {
		// An irreversible action counts an approval only with the
		// server's name typed (confirm.go).
		if outcome, reply, ok := s.checkName(ctx, log, c); !ok {
			return outcome, reply
		}
	}
	approvers, unknown, err := s.approvers(ctx, log, c.TicketID, c.ticket)
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		return "refused", ephemeral("That request no longer exists.")
	case err != nil:
		return "unavailable", ephemeral(msgUnavailable)
	}
	var res approvals.VoteResult
	err = s.quick(ctx, func(ctx context.Context) (err error) {
		// The ticket's own channel is checked in the vote's script: the
		// click's block_id can't be trusted to say where the ticket is.
		res, err = s.Store.VoteIn(ctx, c.TicketID, c.Channel, c.User, c.Approve, approvers)
		return err
	})
	if err != nil {
		return s.voteRefusal(log, err, res.Ticket, c, unknown)
	}
	if !res.Counted {
		return "repeat", ephemeral("You have already voted on this.")
	}
	t := res.Ticket
	outcome := "vote"
	if res.Decided {
		outcome = string(t.State)
	}
	s.Go(func() {
		ctx, cancel := background(ctx, 2*time.Minute)
		defer cancel()
		note := ""
		if res.Decided && t.State == approvals.StateApproved {
			note = ":hourglass_flowing_sand: Queued to run…"
		}
		// A denial is said once, on the card.
		s.updateCard(ctx, log, t.ID, note, false)
	})
	return outcome, Reply{}
}

// approvers returns who may vote on ticket id (approversOf: the
// approvers its rule gave it), users of groups expanded, and the groups
// whose members can't be known now (their members don't count). It is the
// one place that says who may approve: the vote's script and the check
// before a name is asked for both use it. t, when not nil, is the ticket
// read already.
func (s *Server) approvers(ctx context.Context, log *slog.Logger, id string, t *approvals.Ticket) ([]string, []*groupError, error) {
	rctx, cancel := context.WithTimeout(ctx, s.Config.RequestTimeout)
	defer cancel()
	var approvers []string
	var unknown []*groupError
	var err error
	if t != nil {
		approvers, unknown, err = s.approversFor(rctx, *t) // read already
	} else {
		approvers, unknown, err = s.approversOf(rctx, id)
	}
	if err != nil {
		if !errors.Is(err, approvals.ErrNotFound) {
			log.Error("reading the approvers of a ticket", "err", err)
		}
		return nil, nil, err
	}
	for _, ge := range unknown {
		log.Warn("user group of the ticket's approvers not counted", "group", ge.Group, "fetched", ge.Fetched, "err", ge.Err)
	}
	return approvers, unknown, nil
}

// voteRefusal explains why a vote on ticket t was refused (err, from the
// vote's script or the same checks made before it), for the voter.
func (s *Server) voteRefusal(log *slog.Logger, err error, t approvals.Ticket, c Click, unknown []*groupError) (string, Reply) {
	switch {
	case errors.Is(err, approvals.ErrWrongChannel):
		log.Warn("vote from another channel than the ticket's", "channel", c.Channel, "ticket_channel", t.Channel)
		return "refused", ephemeral("That approval request belongs to another channel; vote there.")
	case errors.Is(err, approvals.ErrSelfApproval):
		return "refused", ephemeral("You asked for this, so you can't approve it: someone else has to.")
	case errors.Is(err, approvals.ErrNotApprover) && len(unknown) > 0:
		// The voter may be in a group that can't be checked: say so.
		var why []string
		for _, ge := range unknown {
			why = append(why, ge.why("approve"))
		}
		return "refused", ephemeral("Your vote wasn't counted. " + strings.Join(why, " "))
	case errors.Is(err, approvals.ErrNotApprover):
		return "refused", ephemeral("Sorry, you aren't one of the approvers for this.")
	case errors.Is(err, approvals.ErrExpired):
		return "refused", ephemeral("This request has expired; nothing was done. Ask again if it's still needed.")
	case errors.Is(err, approvals.ErrDecided):
		return "refused", ephemeral("This request has already been decided.")
	case errors.Is(err, approvals.ErrNotFound):
		return "refused", ephemeral("That request no longer exists.")
	}
	log.Error("voting", "err", err)
	return "unavailable", ephemeral(msgUnavailable)
}

// A click on a card whose ticket isn't found is tried again clickWaitTries
// times in all, clickWait apart: the card may be a moment older than its
// ticket (ask.go posts the card, then opens the ticket).
const (
	clickWaitTries = 8
	clickWait      = 100 * time.Millisecond
)

// ticketOf reads ticket id for a click on its card, waiting a moment for
// a ticket whose card was posted before it was opened.
func (s *Server) ticketOf(ctx context.Context, id string) (t approvals.Ticket, err error) {
	for tries := 1; ; tries++ {
		err = s.quick(ctx, func(ctx context.Context) (err error) {
			t, err = s.Store.Get(ctx, id)
			return err
		})
		if !errors.Is(err, approvals.ErrNotFound) || tries == clickWaitTries || Sleep(ctx, clickWait) != nil {
			return t, err
		}
	}
}

// updateCard re-renders ticket id's card from its current state, with note
// (the latest news about it) when not empty. Updates of one card are
// serialized so that an older state never overwrites a newer one, and once
// the executor has given a card its final note (final), a later update
// with a lesser note keeps it.
func (s *Server) updateCard(ctx context.Context, log *slog.Logger, id, note string, final bool) {
	s.updateCardWith(ctx, log, id, news{Note: note}, final)
}

// updateCardWith is updateCard with news: a final outcome (the executor's)
// finishes the card.
func (s *Server) updateCardWith(ctx context.Context, log *slog.Logger, id string, n news, final bool) {
	unlock := s.cards.lock(id)
	defer unlock()
	s.updateCardLocked(ctx, log, id, n, final)
}

// updateCardLocked is updateCardWith with the card's lock held.
func (s *Server) updateCardLocked(ctx context.Context, log *slog.Logger, id string, n news, final bool) {
	n = s.notes.news(id, n, final, s.Now())
	t, err := s.Store.Get(ctx, id)
	if err != nil {
		log.Error("reading ticket for its card", "ticket", id, "err", err)
		return
	}
	if t.MessageTS == "" {
		return
	}
	if err := s.Poster.Update(ctx, t.MessageChannel, t.MessageTS, card(t, s.Now(), n)); err != nil {
		log.Error("updating approval card", "ticket", id, "err", err)
	}
}

// finalNotes remembers the final notes of recent cards.
type finalNotes struct {
	mu sync.Mutex
	m  map[string]finalNote
}

type finalNote struct {
	news news
	at   time.Time
}

// news returns the news to show on ticket id's card: n itself if final
// (and then remembered) or no final news is known, else the final one.
func (f *finalNotes) news(id string, n news, final bool, now time.Time) news {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[string]finalNote)
	}
	if final {
		for k, v := range f.m {
			if now.Sub(v.at) > time.Hour {
				delete(f.m, k)
			}
		}
		f.m[id] = finalNote{news: n, at: now}
		return n
	}
	if v, ok := f.m[id]; ok {
		return v.news
	}
	return n
}

// reply posts msg in the thread of ticket t's card.
func (s *Server) reply(ctx context.Context, log *slog.Logger, t approvals.Ticket, msg string) {
	channel, ts := t.MessageChannel, t.MessageTS
	if channel == "" {
		channel = t.Channel
	}
	if _, err := s.Poster.Post(ctx, channel, ts, slackui.Text(msg)); err != nil {
		log.Error("posting to ticket thread", "ticket", t.ID, "err", err, "message", msg)
	}
}
