package approvals

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// An Entry is one line of the audit log: who did what, when, to which
// server, under which ticket, with what outcome. It holds only what
// callers put in it; never put secrets there.
//
// The store writes these entries itself, in the same scripts as the
// changes they record (Actor, Outcome):
//
//	Submit         requester, "requested"
//	Vote           voter, "approve" or "deny" for each counted vote;
//	               voter, "approved" (Detail: approvers and job) or "denied" for the decision;
//	               requester, "expired" when the vote finds the ticket expired
//	Cancel         requester, "cancelled"
//	ExpireDue      requester, "expired"
//	MarkRunning    job's requester, "started"
//	Finish         job's requester, the outcome given
type Entry struct {
	// ID is the entry's stream ID, set when the log is read.
	ID   string
	Time time.Time
	// Actor is the Slack user ID (or the monitoring source) behind the event.
	Actor string
	// Action is the canonical command text.
	Action string
	Server string
	Ticket string
	// Outcome is what happened: requested, approve, deny, approved,
	// denied, cancelled, expired, started, done, failed, ...
	Outcome string
	Detail  string
}

// Audit appends e to the audit log (Time defaults to now).
func (s *Store) Audit(ctx context.Context, e Entry) error {
	if err := s.rdb.XAdd(ctx, s.auditArgs(e)).Err(); err != nil {
		return fmt.Errorf("approvals: audit: %w", err)
	}
	return nil
}

func (s *Store) auditArgs(e Entry) *redis.XAddArgs {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return &redis.XAddArgs{
		Stream: s.key("audit"),
		MaxLen: s.auditMax,
		Approx: true,
		Values: []any{"t", ms(e.Time), "actor", e.Actor, "action", e.Action, "server", e.Server,
			"ticket", e.Ticket, "outcome", e.Outcome, "detail", e.Detail},
	}
}

// AuditLog returns the newest n entries (default 20), newest first. If
// server is not empty, only entries about it: its Server equals server or
// starts with server followed by a dot (so "web1" matches
// "web1.default.acme"). Filtering scans at most AuditMax entries.
func (s *Store) AuditLog(ctx context.Context, server string, n int) ([]Entry, error) {
	if n <= 0 {
		n = 20
	}
	const page = 500
	var out []Entry
	end := "+"
	scanned := int64(0)
	for scanned < s.auditMax {
		count := int64(n)
		if server != "" {
			count = page
		}
		msgs, err := s.rdb.XRevRangeN(ctx, s.key("audit"), end, "-", count).Result()
		if err != nil {
			return nil, fmt.Errorf("approvals: audit log: %w", err)
		}
		for _, m := range msgs {
			e := parseEntry(m)
			if server == "" || e.Server == server || strings.HasPrefix(e.Server, server+".") {
				out = append(out, e)
				if len(out) == n {
					return out, nil
				}
			}
		}
		scanned += int64(len(msgs))
		if int64(len(msgs)) < count {
			break
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, nil
}

func parseEntry(m redis.XMessage) Entry {
	f := func(k string) string { return str(m.Values[k]) }
	return Entry{
		ID:      m.ID,
		Time:    fromMS(f("t")),
		Actor:   f("actor"),
		Action:  f("action"),
		Server:  f("server"),
		Ticket:  f("ticket"),
		Outcome: f("outcome"),
		Detail:  f("detail"),
	}
}
