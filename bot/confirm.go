package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// Type-the-name approvals. An approval of an irreversible action (a purge,
// a disc purge, a reimage: the Destructive actions) counts only when the
// approver types the name of the server the approvers were shown. Press is
// the button: for such an action it counts nothing and returns what to ask
// (the transport opens a modal, the console prompts); the answer comes
// back as a Click with Name, which checks the name before the vote's
// script runs. Denials, and approvals of actions that can be undone,
// count at once, as before.

// Press handles a press of an approval card's button. A Deny, or an
// Approve of an action that can be undone, votes at once (as Click). An
// Approve of an irreversible action counts nothing: once the presser is
// known to be someone who may approve it (an approver, not the requester,
// in the ticket's channel, while the ticket waits), Press returns what to
// ask them, and their approval counts when they answer with the server's
// name (Click with Name). A refusal is explained in the Reply.
func (s *Server) Press(ctx context.Context, c Click) (Reply, *slackui.Confirm) {
	if !c.Approve {
		return s.Click(ctx, c), nil
	}
	if c.RequestID == "" {
		c.RequestID = newID(4)
	}
	log := s.Logger.With("req", c.RequestID, "user", c.User, "ticket", c.TicketID, "approve", true)
	outcome, reply, confirm := s.press(ctx, log, &c)
	if outcome == "" {
		return s.Click(ctx, c), nil // an action that can be undone: a plain vote
	}
	s.metrics.approvals.WithLabelValues(outcome).Inc()
	log.Info("approve pressed", "outcome", outcome)
	return reply, confirm
}

// press checks an Approve press; outcome "" means the ticket's action can
// be undone and the press is a plain vote (c then holds the ticket read).
func (s *Server) press(ctx context.Context, log *slog.Logger, c *Click) (string, Reply, *slackui.Confirm) {
	if c.TicketID == "" {
		return "refused", ephemeral("That button doesn't belong to any ticket."), nil
	}
	if c.Channel != "" && c.Bound != c.Channel {
		return "refused", ephemeral("That approval request belongs to another channel; vote there."), nil
	}
	t, outcome, reply := s.readTicket(ctx, log, c.TicketID)
	if outcome != "" {
		return outcome, reply, nil
	}
	c.ticket = &t
	if !irreversible(t) {
		return "", Reply{}, nil
	}
	if outcome, reply, ok := s.mayVote(log, *c, t); !ok {
		return outcome, reply, nil
	}
	approvers, unknown, err := s.approvers(ctx, log, t.ID, &t)
	if err != nil {
		return "unavailable", ephemeral(msgUnavailable), nil
	}
	if !slices.Contains(approvers, c.User) {
		outcome, reply := s.voteRefusal(log, approvals.ErrNotApprover, t, *c, unknown)
		return outcome, reply, nil
	}
	snap, _ := parseSnapshot(t.Snapshot)
	short, canonical := snapNames(snap)
	channel := c.Channel
	if channel == "" {
		channel = t.Channel
	}
	return "name_asked", Reply{}, &slackui.Confirm{
		TicketID:    t.ID,
		Channel:     channel,
		Command:     t.Command,
		Subject:     snap.subject(metaOf(t.Meta).Power),
		Short:       short,
		Canonical:   canonical,
		RequestedBy: t.RequestedBy,
		Approvals:   len(t.Approvers),
		Required:    t.Required,
	}
}

// irreversible reports whether ticket t's action can't be undone, so that
// approving it takes the server's name typed (slackui.TypeTheName: the
// card's Approve button, which then has no confirm dialog, agrees).
func irreversible(t approvals.Ticket) bool { return slackui.TypeTheName(t.Command) }

// readTicket reads ticket id for a vote; outcome is not empty when it
// can't be read, and reply then says why.
func (s *Server) readTicket(ctx context.Context, log *slog.Logger, id string) (approvals.Ticket, string, Reply) {
	t, err := s.ticketOf(ctx, id)
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		return t, "refused", ephemeral("That request no longer exists.")
	case err != nil:
		log.Error("reading a ticket for a vote", "err", err)
		return t, "unavailable", ephemeral(msgUnavailable)
	}
	return t, "", Reply{}
}

// mayVote checks, from ticket t as read, what the vote's script checks
// again: the ticket waits, the vote comes from its channel, and the voter
// is not its requester. The answers say plainly what became of the
// ticket: a modal shows them as they are.
func (s *Server) mayVote(log *slog.Logger, c Click, t approvals.Ticket) (string, Reply, bool) {
	switch {
	case t.State == approvals.StateExpired:
		// (A pending ticket past its time is the vote script's to
		// refuse, by the Store's clock.)
		return "refused", ephemeral("This request has expired; nothing was done. Ask again if it's still needed."), false
	case t.State == approvals.StateCancelled:
		return "refused", ephemeral("This request was cancelled by the person who asked for it; nothing was done, and your vote wasn't counted."), false
	case t.State == approvals.StateDenied:
		return "refused", ephemeral("This request was denied; nothing was done, and your vote wasn't counted."), false
	case t.State != approvals.StatePending:
		return "refused", ephemeral("This request has already been decided."), false
	case c.Channel != "" && c.Channel != t.Channel:
		outcome, reply := s.voteRefusal(log, approvals.ErrWrongChannel, t, c, nil)
		return outcome, reply, false
	case c.User == t.RequestedBy:
		outcome, reply := s.voteRefusal(log, approvals.ErrSelfApproval, t, c, nil)
		return outcome, reply, false
	}
	return "", Reply{}, true
}

// checkName checks an approval before the vote's script runs: an
// irreversible action's approval needs a name of its server in c.Name. ok
// is false when the vote must not count, and then outcome and reply say
// why.
func (s *Server) checkName(ctx context.Context, log *slog.Logger, c Click) (outcome string, reply Reply, ok bool) {
	var t approvals.Ticket
	if c.ticket != nil {
		t = *c.ticket
	} else if t, outcome, reply = s.readTicket(ctx, log, c.TicketID); outcome != "" {
		return outcome, reply, false
	}
	if !irreversible(t) {
		return "", Reply{}, true
	}
	if outcome, reply, ok := s.mayVote(log, c, t); !ok {
		return outcome, reply, false
	}
	snap, parsed := parseSnapshot(t.Snapshot)
	short, canonical := snapNames(snap)
	if strings.TrimSpace(c.Name) == "" {
		return "needs_name", ephemeral(fmt.Sprintf(
			"%s can't be undone, so approving it takes the server's name, typed: press Approve on its card and type %s.",
			commands.Code(t.Command), commands.Code(short))), false
	}
	if !parsed {
		log.Error("ticket without a readable snapshot; its name can't be checked")
		return "refused", ephemeral("This request can't be approved: what the approvers saw can't be read. Ask again."), false
	}
	match, err := s.nameMatches(ctx, snap, c.Name)
	if err != nil {
		log.Warn("checking a typed server name", "err", err)
		return "unavailable", ephemeral("I couldn't check that name just now, so your vote wasn't counted. Try again in a moment."), false
	}
	if !match {
		log.Info("approval refused: the name typed is not the server's", "server", canonical)
		s.auditWrongName(ctx, log, t, c.User)
		return "wrong_name", ephemeral(fmt.Sprintf(
			"That isn't the name of the server. Type %s (or %s) to approve; your vote wasn't counted.", short, canonical)), false
	}
	return "", Reply{}, true
}

// snapNames returns the names of a snapshot's server that confirm an
// approval: its short name (web1) and canonical name (web1.default.acme).
func snapNames(snap snapshot) (short, canonical string) {
	host := strings.ToLower(snap.Hostname)
	if host == "" {
		host = strings.ToLower(snap.Server)
	}
	parts := strings.Split(host, ".")
	short, canonical = parts[0], host
	if len(parts) >= 3 {
		canonical = strings.Join(parts[:3], ".")
	}
	return short, canonical
}

// nameMatches reports whether typed names the server of snap: its short
// or canonical name, its hostname, or any other name the API says is the
// same server (its ID, web1.default). An error means the API couldn't be
// asked; a name that is no server's is simply no match.
func (s *Server) nameMatches(ctx context.Context, snap snapshot, typed string) (bool, error) {
	typed = strings.ToLower(strings.Trim(strings.TrimSpace(typed), "`*_ "))
	if typed == "" {
		return false, nil
	}
	short, canonical := snapNames(snap)
	parts := strings.Split(canonical, ".")
	local := []string{short, canonical, strings.ToLower(snap.Hostname), strings.ToLower(snap.Server)}
	if len(parts) == 3 {
		local = append(local, parts[0]+"."+parts[1])
	}
	if slices.Contains(local, typed) {
		return true, nil
	}
	if snap.ID <= 0 {
		return false, nil
	}
	if _, err := bytemark.ParseName(typed); err != nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.Config.RequestTimeout)
	defer cancel()
	id, err := s.api.Identify(ctx, typed)
	var apiErr *bytemark.Error
	switch {
	case err == nil:
		return id.ID == snap.ID, nil
	case bytemark.IsWrongSuffix(err), errors.As(err, &apiErr) && apiErr.StatusCode < 500:
		return false, nil
	}
	return false, err
}

// auditWrongName records an approval refused for a wrong name.
func (s *Server) auditWrongName(ctx context.Context, log *slog.Logger, t approvals.Ticket, user string) {
	err := s.quick(ctx, func(ctx context.Context) error {
		return s.Store.Audit(ctx, approvals.Entry{Actor: user, Action: t.Command, Server: t.Server, Ticket: t.ID,
			Outcome: "approve refused", Detail: "the name typed is not the server's; the vote was not counted"})
	})
	if err != nil {
		log.Error("auditing a refused approval", "err", err)
	}
}
