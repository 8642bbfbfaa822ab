package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Staged purges and undeletes (PURGE_GRACE). An approved purge of a
// server that is not yet deleted is staged: the server is soft-deleted at
// once and the purge itself is due at the end of the grace, unless someone
// presses Undo first. The staged purge lives on its ticket (the purge_*
// fields of the ticket's hash, so that a card rendered from the ticket
// shows it), and its due time in one sorted set:
//
//	{bytebot}:purges           zset   IDs of tickets with a staged purge, scored by when it is due (ms)
//	{bytebot}:undelete:<id>    hash   a soft delete whose result carries an Undelete button; TTL JobRetention
//
// A staged purge goes staged -> purging -> purged, or staged -> undone
// (UndoPurge), or staged|purging -> kept (not purged: EndPurge says why).
// Each step is one script, so that exactly one of an Undo and the purge
// wins, and one of two Undos.

// Purge states of a ticket (Ticket.Purge.State); "" when none is staged.
const (
	PurgeStaged  = "staged"
	PurgePurging = "purging"
	PurgePurged  = "purged"
	PurgeUndone  = "undone"
	PurgeKept    = "kept"
)

// OriginStaged is the Origin of the job that runs a staged purge when it
// falls due (PurgesDue).
const OriginStaged = "staged-purge"

// Errors of staged purges and undeletes, for errors.Is.
var (
	// ErrUndone: someone pressed Undo (or Undelete) first; the result's
	// By says who.
	ErrUndone = errors.New("approvals: already undone")
	// ErrTooLate: the purge has begun (or is done); nothing can be undone.
	ErrTooLate = errors.New("approvals: the purge has begun")
	// ErrNotStaged: the ticket has no staged purge (or it was called off).
	ErrNotStaged = errors.New("approvals: no staged purge")
	// ErrNotApproved: only an approved ticket's purge can be staged.
	ErrNotApproved = errors.New("approvals: ticket not approved")
)

// A StagedPurge is the staged purge of a ticket.
type StagedPurge struct {
	State string    // PurgeStaged, …; "" when there is none
	At    time.Time // when the purge is due
	// By is who pressed Undo (PurgeUndone).
	By string
	// EndedAt is when it was undone, purged or kept.
	EndedAt time.Time
	// Note says why a purge was kept (not run).
	Note string
}

func parseStaged(m map[string]string) StagedPurge {
	return StagedPurge{State: m["purge_state"], At: fromMS(m["purge_at"]), By: m["purge_by"],
		EndedAt: fromMS(m["purge_end"]), Note: m["purge_note"]}
}

// stageLua stages the purge of an approved ticket, once.
// KEYS: ticket, purges, audit
// ARGV: now, due, audit max, detail, ticket ttl (ms)
// Returns {code, ticket fields}: 'ok' | 'exists' | 'notfound' | 'notapproved'.
const stageLua = luaLib + `
local t = KEYS[1]
if redis.call('EXISTS', t) == 0 then return {'notfound'} end
local f = redis.call('HMGET', t, 'id', 'state', 'purge_state', 'requested_by', 'command', 'server')
if f[2] ~= 'approved' then return {'notapproved', redis.call('HGETALL', t)} end
if f[3] then return {'exists', redis.call('HGETALL', t)} end
redis.call('HSET', t, 'purge_state', 'staged', 'purge_at', ARGV[2])
if redis.call('PTTL', t) < tonumber(ARGV[5]) then redis.call('PEXPIRE', t, ARGV[5]) end
redis.call('ZADD', KEYS[2], ARGV[2], f[1])
audit(KEYS[3], ARGV[3], ARGV[1], f[4], f[5], f[6], f[1], 'staged', ARGV[4])
return {'ok', redis.call('HGETALL', t)}
`

// undoLua cancels a staged purge for by.
// KEYS: ticket, purges, audit
// ARGV: now, by, audit max
// Returns {code, ticket fields}: 'ok' | 'undone' | 'toolate' | 'notstaged' | 'notfound'.
const undoLua = luaLib + `
local t = KEYS[1]
if redis.call('EXISTS', t) == 0 then return {'notfound'} end
local f = redis.call('HMGET', t, 'id', 'purge_state', 'command', 'server', 'purge_at')
if f[2] == 'undone' then return {'undone', redis.call('HGETALL', t)} end
if f[2] == 'purging' or f[2] == 'purged' then return {'toolate', redis.call('HGETALL', t)} end
if f[2] ~= 'staged' then return {'notstaged', redis.call('HGETALL', t)} end
redis.call('HSET', t, 'purge_state', 'undone', 'purge_by', ARGV[2], 'purge_end', ARGV[1])
redis.call('ZREM', KEYS[2], f[1])
audit(KEYS[3], ARGV[3], ARGV[1], ARGV[2], f[3], f[4], f[1], 'undone', 'staged purge cancelled by ' .. ARGV[2])
return {'ok', redis.call('HGETALL', t)}
`

// stepLua moves a staged purge from one state to another.
// KEYS: ticket, purges
// ARGV: now, to, note, from...
// Returns {code, ticket fields}: 'ok' | 'state' (not in a from state) | 'notfound'.
const stepLua = `
local t = KEYS[1]
if redis.call('EXISTS', t) == 0 then return {'notfound'} end
local st = redis.call('HGET', t, 'purge_state')
for i = 4, #ARGV do
  if st == ARGV[i] then
    redis.call('HSET', t, 'purge_state', ARGV[2])
    if ARGV[2] ~= 'purging' and ARGV[2] ~= st then redis.call('HSET', t, 'purge_end', ARGV[1]) end
    if ARGV[3] ~= '' then redis.call('HSET', t, 'purge_note', ARGV[3]) end
    redis.call('ZREM', KEYS[2], redis.call('HGET', t, 'id'))
    return {'ok', redis.call('HGETALL', t)}
  end
end
return {'state', redis.call('HGETALL', t)}
`

// dueLua queues the staged purges that are due, each once (ZREM decides),
// as jobs of Origin OriginStaged; a purge undone meanwhile is dropped.
// KEYS: purges, queue, (ticket, job)...
// ARGV: now, job ttl (ms), origin, (ticket id, job id)...
const dueLua = `
local now = ARGV[1]
local n = 0
for i = 1, (#KEYS - 2) / 2 do
  local t, j = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local id, jid = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
  local sc = redis.call('ZSCORE', KEYS[1], id)
  if sc and tonumber(sc) <= tonumber(now) then
    redis.call('ZREM', KEYS[1], id)
    local f = redis.call('HMGET', t, 'purge_state', 'command', 'requested_by', 'channel', 'msg_ts', 'server', 'meta')
    if f[1] == 'staged' and redis.call('EXISTS', j) == 0 then
      local xid = redis.call('XADD', KEYS[2], '*', 'id', jid, 'enqueued', now, 'command', f[2] or '',
        'requested_by', f[3] or '', 'channel', f[4] or '', 'thread_ts', f[5] or '', 'ticket', id,
        'origin', ARGV[3], 'server', f[6] or '', 'meta', f[7] or '{}')
      redis.call('HSET', j, 'state', 'queued', 'attempt', 0, 'entry', xid, 'ticket', id, 'updated', now)
      redis.call('PEXPIRE', j, ARGV[2])
      n = n + 1
    end
  end
end
return n
`

// undeleteLua records that by pressed a soft delete's Undelete, once.
// KEYS: undelete, audit
// ARGV: now, by, audit max
// Returns {code, record fields}: 'ok' | 'undone' | 'notfound'.
const undeleteLua = luaLib + `
local u = KEYS[1]
if redis.call('EXISTS', u) == 0 then return {'notfound'} end
local f = redis.call('HMGET', u, 'state', 'command', 'server')
if f[1] ~= 'deleted' then return {'undone', redis.call('HGETALL', u)} end
redis.call('HSET', u, 'state', 'undeleted', 'by', ARGV[2], 'ended', ARGV[1])
audit(KEYS[2], ARGV[3], ARGV[1], ARGV[2], f[2], f[3], '', 'undone', 'undelete pressed by ' .. ARGV[2])
return {'ok', redis.call('HGETALL', u)}
`

type graceScripts struct {
	stage, undo, step, due, undelete *redis.Script
}

func newGraceScripts() graceScripts {
	return graceScripts{
		stage:    redis.NewScript(stageLua),
		undo:     redis.NewScript(undoLua),
		step:     redis.NewScript(stepLua),
		due:      redis.NewScript(dueLua),
		undelete: redis.NewScript(undeleteLua),
	}
}

func (g graceScripts) all() []*redis.Script {
	return []*redis.Script{g.stage, g.undo, g.step, g.due, g.undelete}
}

// graceCode maps a script's reply code to the errors above.
func graceCode(code string) error {
	switch code {
	case "ok":
		return nil
	case "undone":
		return ErrUndone
	case "toolate":
		return ErrTooLate
	case "notstaged", "state":
		return ErrNotStaged
	case "notapproved":
		return ErrNotApproved
	case "exists":
		return errStaged
	}
	return codeErr(code)
}

// errStaged: the purge was staged before (StagePurge answers it as not created).
var errStaged = errors.New("approvals: purge already staged")

func encodeList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	return string(b), err
}

func decodeList(s string) []string {
	var l []string
	if json.Unmarshal([]byte(s), &l) != nil || l == nil {
		return []string{}
	}
	return l
}

// ticketReply runs a script on ticket id that answers {code, ticket}.
func (s *Store) ticketReply(ctx context.Context, op string, script *redis.Script, keys []string, args ...any) (Ticket, error) {
	v, err := s.decide(ctx, script, keys, args...).Slice()
	if err != nil {
		return Ticket{}, fmt.Errorf("approvals: %s: %w", op, err)
	}
	var t Ticket
	if len(v) > 1 {
		t = parseTicket(pairs(v[1]))
	}
	return t, graceCode(str(v[0]))
}

// StagePurge stages the purge of approved ticket id, due at at, and
// audits it ("staged", with detail). Staging it again changes nothing: the
// ticket is returned with its staged purge and created false.
func (s *Store) StagePurge(ctx context.Context, id string, at time.Time, detail string) (t Ticket, created bool, err error) {
	id = normID(id)
	if !validID(id) {
		return Ticket{}, false, ErrNotFound
	}
	now := s.now()
	ttl := at.Sub(now) + TicketRetention
	t, err = s.ticketReply(ctx, "stage purge", s.sc.grace.stage, []string{s.ticketKey(id), s.key("purges"), s.key("audit")},
		ms(now), ms(at), s.auditMax, detail, durMS(ttl))
	if errors.Is(err, errStaged) {
		return t, false, nil
	}
	return t, err == nil, err
}

// UndoPurge cancels ticket id's staged purge for by (who must be entitled:
// the caller checks) and audits it ("undone"). Exactly one of several
// Undos wins; the others get ErrUndone (the ticket's Purge.By says who
// won). A purge that has begun gives ErrTooLate, one that is not staged
// ErrNotStaged.
func (s *Store) UndoPurge(ctx context.Context, id, by string) (Ticket, error) {
	id = normID(id)
	if !validID(id) {
		return Ticket{}, ErrNotFound
	}
	return s.ticketReply(ctx, "undo purge", s.sc.grace.undo, []string{s.ticketKey(id), s.key("purges"), s.key("audit")},
		ms(s.now()), by, s.auditMax)
}

// BeginPurge marks ticket id's staged purge as running, just before the
// purge is sent: an Undo after this is too late. A purge already undone
// gives ErrUndone; one already begun (an earlier attempt) or done,
// ErrTooLate; none, ErrNotStaged.
func (s *Store) BeginPurge(ctx context.Context, id string) (Ticket, error) {
	t, err := s.step(ctx, id, PurgePurging, "", PurgeStaged)
	if errors.Is(err, ErrNotStaged) {
		switch t.Purge.State {
		case PurgeUndone:
			return t, ErrUndone
		case PurgePurging, PurgePurged:
			return t, ErrTooLate
		}
	}
	return t, err
}

// EndPurge records how ticket id's staged purge ended: PurgePurged, or
// PurgeKept with note (why it was not purged). It returns ErrNotStaged if
// the purge had already ended (undone, purged or kept).
func (s *Store) EndPurge(ctx context.Context, id, state, note string) (Ticket, error) {
	if state != PurgePurged && state != PurgeKept {
		return Ticket{}, fmt.Errorf("approvals: end purge: invalid state %q", state)
	}
	return s.step(ctx, id, state, note, PurgeStaged, PurgePurging)
}

// NoteUndone records note (how the undelete after an Undo went) on ticket
// id, whose purge must be undone (else ErrNotStaged).
func (s *Store) NoteUndone(ctx context.Context, id, note string) error {
	_, err := s.step(ctx, id, PurgeUndone, note, PurgeUndone)
	return err
}

func (s *Store) step(ctx context.Context, id, to, note string, from ...string) (Ticket, error) {
	id = normID(id)
	if !validID(id) {
		return Ticket{}, ErrNotFound
	}
	args := []any{ms(s.now()), to, note}
	for _, f := range from {
		args = append(args, f)
	}
	return s.ticketReply(ctx, "purge step", s.sc.grace.step, []string{s.ticketKey(id), s.key("purges")}, args...)
}

// PurgeJobID is the ID of the job that runs ticket id's staged purge.
func PurgeJobID(ticketID string) string { return "purge" + ticketID }

// PurgesDue queues the staged purges that are due as jobs (Origin
// OriginStaged, ID PurgeJobID, the ticket's command, requester, channel
// and meta, in the thread of its card) and returns how many it queued.
// Each is queued once however many replicas look at the same time; one
// undone meanwhile is dropped.
func (s *Store) PurgesDue(ctx context.Context) (int, error) {
	const batch = 100
	total := 0
	for {
		now := s.now()
		due, err := s.rdb.ZRangeByScore(ctx, s.key("purges"), &redis.ZRangeBy{Min: "-inf", Max: ms(now), Count: batch}).Result()
		if err != nil {
			return total, fmt.Errorf("approvals: purges due: %w", err)
		}
		if len(due) == 0 {
			return total, nil
		}
		keys := []string{s.key("purges"), s.key("queue")}
		args := []any{ms(now), durMS(JobRetention), OriginStaged}
		for _, id := range due {
			keys = append(keys, s.ticketKey(id), s.jobKey(PurgeJobID(id)))
			args = append(args, id, PurgeJobID(id))
		}
		n, err := s.decide(ctx, s.sc.grace.due, keys, args...).Int()
		total += n
		if err != nil {
			return total, fmt.Errorf("approvals: purges due: %w", err)
		}
		if len(due) < batch {
			return total, nil
		}
	}
}

// An Undelete is a soft delete whose result carries an Undelete button.
type Undelete struct {
	ID string
	// Command is the delete's canonical text; Server its server's
	// canonical name and ServerID its numeric ID.
	Command, Server string
	ServerID        int
	// Hostname is the server's hostname as the API reported it.
	Hostname    string
	RequestedBy string
	// Approvers approved the delete's ticket, if it had one; they may
	// press Undelete, as may the requester and the configured approvers.
	Approvers []string
	Ticket    string
	Channel   string
	// MessageChannel and MessageTS locate the result that carries the button.
	MessageChannel, MessageTS string
	// State is "deleted" until someone presses Undelete ("undeleted"; By).
	State     string
	By        string
	CreatedAt time.Time
	EndedAt   time.Time
}

func (s *Store) undeleteKey(id string) string { return s.key("undelete", id) }

// OpenUndelete records u (a new ID when u.ID is empty), kept for
// JobRetention, and returns its ID.
func (s *Store) OpenUndelete(ctx context.Context, u Undelete) (string, error) {
	if u.ID == "" {
		u.ID = newID()
	}
	approvers, err := encodeList(u.Approvers)
	if err != nil {
		return "", fmt.Errorf("approvals: open undelete: %w", err)
	}
	k := s.undeleteKey(u.ID)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "id", u.ID, "command", u.Command, "server", u.Server, "server_id", u.ServerID,
			"hostname", u.Hostname, "requested_by", u.RequestedBy, "approvers", approvers, "ticket", u.Ticket,
			"channel", u.Channel, "state", "deleted", "created", ms(s.now()))
		p.PExpire(ctx, k, JobRetention)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("approvals: open undelete: %w", err)
	}
	return u.ID, nil
}

// SetUndeleteMessage records where undelete id's button was posted.
func (s *Store) SetUndeleteMessage(ctx context.Context, id, channel, ts string) error {
	id = normID(id)
	if !validID(id) {
		return ErrNotFound
	}
	n, err := s.sc.setMessage.Run(ctx, s.rdb, []string{s.undeleteKey(id)}, channel, ts).Int()
	if err != nil {
		return fmt.Errorf("approvals: set undelete message: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// GetUndelete returns undelete id.
func (s *Store) GetUndelete(ctx context.Context, id string) (Undelete, error) {
	id = normID(id)
	if !validID(id) {
		return Undelete{}, ErrNotFound
	}
	m, err := s.rdb.HGetAll(ctx, s.undeleteKey(id)).Result()
	if err != nil {
		return Undelete{}, fmt.Errorf("approvals: get undelete: %w", err)
	}
	if len(m) == 0 {
		return Undelete{}, ErrNotFound
	}
	return parseUndelete(m), nil
}

// PressUndelete records that by pressed undelete id's button and audits it
// ("undone"): exactly one press wins; the others get ErrUndone (the
// record's By says who won).
func (s *Store) PressUndelete(ctx context.Context, id, by string) (Undelete, error) {
	id = normID(id)
	if !validID(id) {
		return Undelete{}, ErrNotFound
	}
	v, err := s.decide(ctx, s.sc.grace.undelete, []string{s.undeleteKey(id), s.key("audit")}, ms(s.now()), by, s.auditMax).Slice()
	if err != nil {
		return Undelete{}, fmt.Errorf("approvals: undelete: %w", err)
	}
	var u Undelete
	if len(v) > 1 {
		u = parseUndelete(pairs(v[1]))
	}
	return u, graceCode(str(v[0]))
}

func parseUndelete(m map[string]string) Undelete {
	u := Undelete{ID: m["id"], Command: m["command"], Server: m["server"], Hostname: m["hostname"],
		RequestedBy: m["requested_by"], Ticket: m["ticket"], Channel: m["channel"],
		MessageChannel: m["msg_channel"], MessageTS: m["msg_ts"], State: m["state"], By: m["by"],
		CreatedAt: fromMS(m["created"]), EndedAt: fromMS(m["ended"])}
	u.ServerID = int(num(m["server_id"]))
	u.Approvers = decodeList(m["approvers"])
	return u
}
