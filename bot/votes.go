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
	rctx, cancel := context.WithTimeout(ctx, s.Config.RequestTimeout)
	approvers, unknown, err := s.expand(rctx, s.Config.Approvers)
	cancel()
	if err != nil {
		log.Error("expanding APPROVERS", "err", err)
		return "unavailable", ephemeral(msgUnavailable)
	}
	for _, ge := range unknown {
		log.Warn("user group of APPROVERS not counted", "group", ge.Group, "fetched", ge.Fetched, "err", ge.Err)
	}
	var res approvals.VoteResult
	for tries := 1; ; tries++ {
		err = s.quick(ctx, func(ctx context.Context) (err error) {
			// The ticket's own channel is checked in the vote's script: the
			// click's block_id can't be trusted to say where the ticket is.
			res, err = s.Store.VoteIn(ctx, c.TicketID, c.Channel, c.User, c.Approve, approvers)
			return err
		})
		// A card is posted just before its ticket is opened (ask.go): a
		// click in between waits for the ticket, a moment.
		if !errors.Is(err, approvals.ErrNotFound) || c.Channel == "" || tries == clickWaitTries || Sleep(ctx, clickWait) != nil {
			break
		}
	}
	switch {
	case errors.Is(err, approvals.ErrWrongChannel):
		log.Warn("vote from another channel than the ticket's", "channel", c.Channel, "ticket_channel", res.Ticket.Channel)
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
	case err != nil:
		log.Error("voting", "err", err)
		return "unavailable", ephemeral(msgUnavailable)
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

// A click on a card whose ticket isn't found is tried again clickWaitTries
// times in all, clickWait apart: the card may be a moment older than its
// ticket.
const (
	clickWaitTries = 8
	clickWait      = 100 * time.Millisecond
)

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
