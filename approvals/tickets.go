package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A State is where a ticket is in its life.
type State string

// Ticket states. A ticket starts pending and ends in exactly one of the
// others.
const (
	StatePending   State = "pending"
	StateApproved  State = "approved"
	StateDenied    State = "denied"
	StateCancelled State = "cancelled"
	StateExpired   State = "expired"
)

// A Request asks for approval of an action.
type Request struct {
	// Command is the canonical text of the action (commands.Action.String()).
	Command string
	// RequestedBy is the Slack user ID of the requester, who may not vote.
	RequestedBy string
	// Channel is where the request was made.
	Channel string
	// Snapshot is the hash or text of what the approvers are shown.
	Snapshot string
	// Server is the server the action targets, for filtering the audit log.
	Server string
	// Required is the number of distinct approvals needed; at least 1.
	Required int
	// TTL is how long the ticket waits for a decision; default 15m.
	TTL time.Duration
	// Meta is carried to the ticket and to its job.
	Meta map[string]string
	// Eligible are who may approve: Slack user and user-group IDs, as the
	// rule that asked for approval names them. Votes check them on any
	// replica, whatever policy it has loaded since.
	Eligible []string
	// Rule says which rule asked for approval and who may give it, for
	// the card.
	Rule string
	// ID, when set, is the ticket's ID (from NewTicketID): its card can
	// be posted before the ticket is opened. Submit fails with ErrExists
	// if a ticket has it already.
	ID string
	// MessageChannel and MessageTS, when set, record where the ticket's
	// card is in the same write that opens it (as SetMessage does).
	MessageChannel, MessageTS string
}

// ErrExists is Submit's error for a Request.ID that is taken.
var ErrExists = errors.New("approvals: a ticket with that ID exists")

// NewTicketID returns a new ticket ID for Request.ID.
func NewTicketID() string { return newID() }

// A Ticket is a request for approval and its votes.
type Ticket struct {
	ID, Command, RequestedBy, Channel, Snapshot string
	// Server is Request.Server.
	Server   string
	Required int
	State    State
	// Approvers are the users who approved, in order.
	Approvers []string
	// DeniedBy is the user who denied the ticket, if one did.
	DeniedBy             string
	CreatedAt, ExpiresAt time.Time
	// DecidedAt is when the ticket left the pending state.
	DecidedAt time.Time
	// MessageChannel and MessageTS locate the ticket's card (SetMessage).
	MessageChannel, MessageTS string
	Meta                      map[string]string
	// JobID is the job queued when the ticket was approved.
	JobID string
	// Eligible and Rule are Request's; Eligible is nil on tickets made
	// before they were recorded.
	Eligible []string
	Rule     string
	// Purge is the ticket's staged purge, if any (staged.go).
	Purge StagedPurge
}

// A VoteResult is what a vote did.
type VoteResult struct {
	// Ticket is the ticket after the vote.
	Ticket Ticket
	// Counted is false for a repeated vote by the same person.
	Counted bool
	// Decided is true for the vote that approved or denied the ticket.
	Decided bool
	// JobID is the job queued, when the vote approved the ticket.
	JobID string
}

// Submit opens a ticket for r and returns it, pending. Its ID is short,
// random and unguessable.
func (s *Store) Submit(ctx context.Context, r Request) (Ticket, error) {
	if r.Command == "" || r.RequestedBy == "" {
		return Ticket{}, errors.New("approvals: submit: command and requester are required")
	}
	if r.Required < 1 {
		r.Required = 1
	}
	if r.TTL <= 0 {
		r.TTL = DefaultTTL
	}
	now := s.now()
	exp := now.Add(r.TTL)
	meta, err := encodeMeta(r.Meta)
	if err != nil {
		return Ticket{}, fmt.Errorf("approvals: submit: %w", err)
	}
	eligible, err := json.Marshal(append([]string{}, r.Eligible...))
	if err != nil {
		return Ticket{}, fmt.Errorf("approvals: submit: %w", err)
	}
	tries := 5
	if r.ID != "" {
		if r.ID = normID(r.ID); !validID(r.ID) {
			return Ticket{}, fmt.Errorf("approvals: submit: bad ticket ID %q", r.ID)
		}
		tries = 1
	}
	for range tries {
		id := r.ID
		if id == "" {
			id = newID()
		}
		args := []any{ms(now), ms(exp), durMS(r.TTL + TicketRetention), s.auditMax,
			id, r.RequestedBy, r.Command, r.Server,
			"id", id, "command", r.Command, "requested_by", r.RequestedBy, "channel", r.Channel,
			"snapshot", r.Snapshot, "server", r.Server, "required", r.Required,
			"state", string(StatePending), "approvers", "[]", "created", ms(now), "expires", ms(exp),
			"meta", meta, "eligible", string(eligible), "rule", r.Rule}
		if r.MessageTS != "" {
			args = append(args, "msg_channel", r.MessageChannel, "msg_ts", r.MessageTS)
		}
		n, err := s.decide(ctx, s.sc.submit, []string{s.ticketKey(id), s.key("pending"), s.key("audit")}, args...).Int()
		if err != nil {
			return Ticket{}, fmt.Errorf("approvals: submit: %w", err)
		}
		if n == 1 {
			return Ticket{
				ID: id, Command: r.Command, RequestedBy: r.RequestedBy, Channel: r.Channel,
				Snapshot: r.Snapshot, Server: r.Server, Required: r.Required, State: StatePending,
				Approvers: []string{}, CreatedAt: time.UnixMilli(now.UnixMilli()), ExpiresAt: time.UnixMilli(exp.UnixMilli()),
				Meta: decodeMeta(meta), Eligible: append([]string{}, r.Eligible...), Rule: r.Rule,
				MessageChannel: r.MessageChannel, MessageTS: r.MessageTS,
			}, nil
		}
	}
	if r.ID != "" {
		return Ticket{}, ErrExists
	}
	return Ticket{}, errors.New("approvals: submit: could not find a free ticket ID")
}

// Vote records voter's approval or denial of ticket id, in one script and
// one round trip. approvers are the users allowed to vote (user groups
// already expanded); when empty, nobody may.
//
// The ticket must exist (ErrNotFound), be pending (ErrDecided, or
// ErrExpired for a ticket already expired) and not be past its expiry
// (ErrExpired, and the ticket is marked expired). The requester's vote is
// refused (ErrSelfApproval) and so is a vote by someone not in approvers
// (ErrNotApprover). A person's first vote stands: a repeated vote, either
// way, is not counted (Counted false, no error). A denial decides the ticket at once; the approval that reaches
// Required moves it to approved and queues exactly one job, in the same
// script. Counted votes and decisions are written to the audit log by the
// same script.
//
// With ErrExpired and ErrDecided (and the refusals), the result's
// Ticket holds the ticket as it is.
//
// Vote does not check where the vote comes from; use VoteIn for a vote
// made in a channel (a button click).
func (s *Store) Vote(ctx context.Context, id, voter string, approve bool, approvers []string) (VoteResult, error) {
	return s.VoteIn(ctx, id, "", voter, approve, approvers)
}

// VoteIn is Vote for a vote made in channel: when channel is not empty and
// is not the ticket's channel, the vote is refused with ErrWrongChannel
// before anything else is checked, and nothing changes. The check is part
// of the vote's script (one round trip). An empty channel checks nothing,
// as Vote.
func (s *Store) VoteIn(ctx context.Context, id, channel, voter string, approve bool, approvers []string) (VoteResult, error) {
	id = normID(id)
	if !validID(id) {
		return VoteResult{}, ErrNotFound
	}
	if voter == "" {
		return VoteResult{}, ErrNotApprover
	}
	yes := "0"
	if approve {
		yes = "1"
	}
	jobID := newID()
	args := make([]any, 0, 7+len(approvers))
	args = append(args, ms(s.now()), voter, yes, jobID, s.auditMax, durMS(JobRetention), channel)
	for _, a := range approvers {
		args = append(args, a)
	}
	keys := []string{s.ticketKey(id), s.key("pending"), s.key("queue"), s.jobKey(jobID), s.key("audit")}
	v, err := s.decide(ctx, s.sc.vote, keys, args...).Slice()
	if err != nil {
		return VoteResult{}, fmt.Errorf("approvals: vote: %w", err)
	}
	code := str(v[0])
	var res VoteResult
	if len(v) > 1 {
		res.Ticket = parseTicket(pairs(v[1]))
	}
	if err := codeErr(code); err != nil {
		return res, err
	}
	res.Counted = num(v[2]) == 1
	res.Decided = num(v[3]) == 1
	if res.Decided && res.Ticket.State == StateApproved {
		res.JobID = res.Ticket.JobID
	}
	return res, nil
}

// Cancel cancels pending ticket id for by, who must be its requester.
func (s *Store) Cancel(ctx context.Context, id, by string) (Ticket, error) {
	id = normID(id)
	if !validID(id) {
		return Ticket{}, ErrNotFound
	}
	keys := []string{s.ticketKey(id), s.key("pending"), s.key("audit")}
	v, err := s.sc.cancel.Run(ctx, s.rdb, keys, ms(s.now()), by, s.auditMax).Slice()
	if err != nil {
		return Ticket{}, fmt.Errorf("approvals: cancel: %w", err)
	}
	var t Ticket
	if len(v) > 1 {
		t = parseTicket(pairs(v[1]))
	}
	return t, codeErr(str(v[0]))
}

// Get returns ticket id.
func (s *Store) Get(ctx context.Context, id string) (Ticket, error) {
	id = normID(id)
	if !validID(id) {
		return Ticket{}, ErrNotFound
	}
	m, err := s.rdb.HGetAll(ctx, s.ticketKey(id)).Result()
	if err != nil {
		return Ticket{}, fmt.Errorf("approvals: get ticket: %w", err)
	}
	if len(m) == 0 {
		return Ticket{}, ErrNotFound
	}
	return parseTicket(m), nil
}

// SetMessage records where ticket id's card was posted.
func (s *Store) SetMessage(ctx context.Context, id, channel, ts string) error {
	id = normID(id)
	if !validID(id) {
		return ErrNotFound
	}
	n, err := s.sc.setMessage.Run(ctx, s.rdb, []string{s.ticketKey(id)}, channel, ts).Int()
	if err != nil {
		return fmt.Errorf("approvals: set message: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Pending returns the pending tickets that have not expired, the soonest
// to expire first.
func (s *Store) Pending(ctx context.Context) ([]Ticket, error) {
	now := s.now()
	ids, err := s.rdb.ZRangeByScore(ctx, s.key("pending"), &redis.ZRangeBy{Min: "(" + ms(now), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("approvals: pending: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.ticketKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("approvals: pending: %w", err)
	}
	var ts []Ticket
	for _, c := range cmds {
		m := c.Val()
		if len(m) == 0 {
			continue
		}
		if t := parseTicket(m); t.State == StatePending {
			ts = append(ts, t)
		}
	}
	return ts, nil
}

// ExpireDue marks the pending tickets whose expiry has passed as expired,
// audits that, and returns them so that their cards can be updated. Each
// ticket is returned once, however many replicas sweep at the same time.
func (s *Store) ExpireDue(ctx context.Context) ([]Ticket, error) {
	const batch = 100
	var out []Ticket
	for {
		now := s.now()
		ids, err := s.rdb.ZRangeByScore(ctx, s.key("pending"), &redis.ZRangeBy{Min: "-inf", Max: ms(now), Count: batch}).Result()
		if err != nil {
			return out, fmt.Errorf("approvals: expire: %w", err)
		}
		if len(ids) == 0 {
			return out, nil
		}
		keys := []string{s.key("pending"), s.key("audit")}
		args := []any{ms(now), s.auditMax}
		for _, id := range ids {
			keys = append(keys, s.ticketKey(id))
			args = append(args, id)
		}
		v, err := s.sc.expire.Run(ctx, s.rdb, keys, args...).Slice()
		if err != nil {
			return out, fmt.Errorf("approvals: expire: %w", err)
		}
		for _, t := range v {
			out = append(out, parseTicket(pairs(t)))
		}
		if len(ids) < batch {
			return out, nil
		}
	}
}

func (s *Store) ticketKey(id string) string { return s.key("ticket", id) }

func codeErr(code string) error {
	switch code {
	case "ok":
		return nil
	case "notfound":
		return ErrNotFound
	case "expired":
		return ErrExpired
	case "decided":
		return ErrDecided
	case "self":
		return ErrSelfApproval
	case "notapprover":
		return ErrNotApprover
	case "notrequester":
		return ErrNotRequester
	case "wrongchannel":
		return ErrWrongChannel
	}
	return fmt.Errorf("approvals: unexpected script reply %q", code)
}

func parseTicket(m map[string]string) Ticket {
	t := Ticket{
		ID:             m["id"],
		Command:        m["command"],
		RequestedBy:    m["requested_by"],
		Channel:        m["channel"],
		Snapshot:       m["snapshot"],
		Server:         m["server"],
		State:          State(m["state"]),
		DeniedBy:       m["denied_by"],
		CreatedAt:      fromMS(m["created"]),
		ExpiresAt:      fromMS(m["expires"]),
		DecidedAt:      fromMS(m["decided"]),
		MessageChannel: m["msg_channel"],
		MessageTS:      m["msg_ts"],
		Meta:           decodeMeta(m["meta"]),
		JobID:          m["job"],
		Rule:           m["rule"],
		Purge:          parseStaged(m),
	}
	if e, ok := m["eligible"]; ok {
		t.Eligible = []string{}
		_ = json.Unmarshal([]byte(e), &t.Eligible)
	}
	t.Required, _ = strconv.Atoi(m["required"])
	t.Approvers = []string{}
	if a := m["approvers"]; a != "" && a != "{}" {
		_ = json.Unmarshal([]byte(a), &t.Approvers)
	}
	return t
}

func encodeMeta(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeMeta(s string) map[string]string {
	if s == "" || s == "{}" || s == "null" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}
