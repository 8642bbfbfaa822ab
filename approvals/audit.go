package approvals

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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

// The audit log is two streams, each capped at about AuditMax entries, so
// that a flood of monitoring alerts can't push out what people did:
//
//	audit            approvals and executions: the scripts' entries, Audit, AuditEach
//	audit:webhooks   decisions of the monitoring webhooks: AuditDecisions
//
// AuditLog reads both, merged by time.
const (
	auditStream     = "audit"
	decisionsStream = "audit:webhooks"
)

// Audit appends e to the audit log (Time defaults to now).
func (s *Store) Audit(ctx context.Context, e Entry) error {
	if err := s.rdb.XAdd(ctx, s.auditArgs(auditStream, e)).Err(); err != nil {
		return fmt.Errorf("approvals: audit: %w", err)
	}
	return nil
}

// AuditDecisions appends entries about what monitoring webhooks decided to
// their own part of the audit log, in order (Time defaults to now).
func (s *Store) AuditDecisions(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range entries {
			p.XAdd(ctx, s.auditArgs(decisionsStream, e))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("approvals: audit: %w", err)
	}
	return nil
}

func (s *Store) auditArgs(stream string, e Entry) *redis.XAddArgs {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return &redis.XAddArgs{
		Stream: s.key(stream),
		MaxLen: s.auditMax,
		Approx: true,
		Values: []any{"t", ms(e.Time), "actor", e.Actor, "action", e.Action, "server", e.Server,
			"ticket", e.Ticket, "outcome", e.Outcome, "detail", e.Detail},
	}
}

// AuditLog returns the newest n entries (default 20) of both streams,
// newest first (by Time, then by stream ID). If server is not empty, only
// entries about it: its Server equals server or starts with server
// followed by a dot (so "web1" matches "web1.default.acme"). Filtering
// scans at most AuditMax entries of each stream.
func (s *Store) AuditLog(ctx context.Context, server string, n int) ([]Entry, error) {
	es, _, err := s.auditLogs(ctx, server, n, false)
	return es, err
}

// AuditLogTotal is AuditLog, and also how many entries there are in all
// (about server, if given; of those the scan reaches, at most AuditMax per
// stream), so that an answer can say it shows "20 of 57".
func (s *Store) AuditLogTotal(ctx context.Context, server string, n int) ([]Entry, int, error) {
	return s.auditLogs(ctx, server, n, true)
}

func (s *Store) auditLogs(ctx context.Context, server string, n int, counting bool) ([]Entry, int, error) {
	if n <= 0 {
		n = 20
	}
	var out []Entry
	total := 0
	for _, stream := range []string{auditStream, decisionsStream} {
		es, t, err := s.auditLog(ctx, stream, server, n, counting)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, es...)
		total += t
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return compareIDs(b.ID, a.ID)
	})
	return out[:min(n, len(out))], total, nil
}

// compareIDs compares two stream IDs ("ms-seq").
func compareIDs(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	if c := cmp.Compare(len(am), len(bm)); c != 0 {
		return c
	}
	if c := strings.Compare(am, bm); c != 0 {
		return c
	}
	if c := cmp.Compare(len(as), len(bs)); c != 0 {
		return c
	}
	return strings.Compare(as, bs)
}

// auditLog returns the newest n entries of one stream, as AuditLog, and,
// when counting, how many there are in all (else len of the entries).
func (s *Store) auditLog(ctx context.Context, stream, server string, n int, counting bool) ([]Entry, int, error) {
	const page = 500
	if counting && server == "" {
		total, err := s.rdb.XLen(ctx, s.key(stream)).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("approvals: audit log: %w", err)
		}
		es, _, err := s.auditLog(ctx, stream, server, n, false)
		return es, int(total), err
	}
	var out []Entry
	matched := 0
	end := "+"
	scanned := int64(0)
	for scanned < s.auditMax {
		count := int64(n)
		if server != "" {
			count = page
		}
		msgs, err := s.rdb.XRevRangeN(ctx, s.key(stream), end, "-", count).Result()
		if err != nil {
			return nil, 0, fmt.Errorf("approvals: audit log: %w", err)
		}
		for _, m := range msgs {
			e := parseEntry(m)
			if server == "" || e.Server == server || strings.HasPrefix(e.Server, server+".") {
				matched++
				if len(out) < n {
					out = append(out, e)
				}
				if len(out) == n && !counting {
					return out, matched, nil
				}
			}
		}
		scanned += int64(len(msgs))
		if int64(len(msgs)) < count {
			break
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, matched, nil
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
