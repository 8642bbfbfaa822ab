package approvals

import "github.com/redis/go-redis/v9"

// The Lua scripts. Each decision is one script so that it is atomic and one
// round trip. Every key a script touches comes in KEYS; times come in ARGV
// as Unix milliseconds.

// luaLib is prepended to the scripts that need it.
const luaLib = `
local function s(v) if v then return v end return '' end
local function audit(key, max, now, actor, action, server, ticket, outcome, detail)
  redis.call('XADD', key, 'MAXLEN', '~', max, '*', 't', now, 'actor', s(actor), 'action', s(action),
    'server', s(server), 'ticket', s(ticket), 'outcome', outcome, 'detail', s(detail))
end
-- expire marks the pending ticket at key t expired and audits it.
local function expire(t, pending, auditkey, max, now)
  local f = redis.call('HMGET', t, 'id', 'command', 'server', 'requested_by')
  redis.call('HSET', t, 'state', 'expired', 'decided', now)
  redis.call('ZREM', pending, f[1])
  audit(auditkey, max, now, f[4], f[2], f[3], f[1], 'expired', '')
end
`

// submitLua creates a ticket.
// KEYS: ticket, pending, audit
// ARGV: now, expires, redis ttl (ms), audit max, id, actor, action, server, field, value, ...
const submitLua = luaLib + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
audit(KEYS[3], ARGV[4], ARGV[1], ARGV[6], ARGV[7], ARGV[8], ARGV[5], 'requested', '')
return 1
`

// voteLua records a vote and, on quorum, queues the job.
// KEYS: ticket, pending, queue, job (used only on quorum), audit
// ARGV: now, voter, approve ('1' or '0'), job id, audit max, job ttl (ms),
// channel of the click (” for no check), approver, ...
// Returns {code, ticket fields[, counted, decided]}.
const voteLua = luaLib + `
local t = KEYS[1]
if redis.call('EXISTS', t) == 0 then return {'notfound'} end
local now, voter, max = ARGV[1], ARGV[2], ARGV[5]
if ARGV[7] ~= '' and ARGV[7] ~= redis.call('HGET', t, 'channel') then
  return {'wrongchannel', redis.call('HGETALL', t)}
end
local f = redis.call('HMGET', t, 'id', 'state', 'requested_by', 'expires', 'required', 'approvers',
  'command', 'server', 'channel', 'meta', 'msg_ts')
local id, state, req, exp, need, cmd, server = f[1], f[2], f[3], f[4], f[5], f[7], f[8]
if state ~= 'pending' then
  if state == 'expired' then return {'expired', redis.call('HGETALL', t)} end
  return {'decided', redis.call('HGETALL', t)}
end
if tonumber(now) >= tonumber(exp) then
  expire(t, KEYS[2], KEYS[5], max, now)
  return {'expired', redis.call('HGETALL', t)}
end
if voter == req then return {'self', redis.call('HGETALL', t)} end
local allowed = false
for i = 8, #ARGV do
  if ARGV[i] == voter then allowed = true break end
end
if not allowed then return {'notapprover', redis.call('HGETALL', t)} end
local approvers = cjson.decode(f[6])
for _, v in ipairs(approvers) do
  if v == voter then return {'ok', redis.call('HGETALL', t), 0, 0} end
end
if ARGV[3] ~= '1' then
  redis.call('HSET', t, 'state', 'denied', 'denied_by', voter, 'decided', now)
  redis.call('ZREM', KEYS[2], id)
  audit(KEYS[5], max, now, voter, cmd, server, id, 'deny', '')
  audit(KEYS[5], max, now, voter, cmd, server, id, 'denied', 'denied by ' .. voter)
  return {'ok', redis.call('HGETALL', t), 1, 1}
end
table.insert(approvers, voter)
redis.call('HSET', t, 'approvers', cjson.encode(approvers))
audit(KEYS[5], max, now, voter, cmd, server, id, 'approve', '')
if #approvers < tonumber(need) then
  return {'ok', redis.call('HGETALL', t), 1, 0}
end
local jid = ARGV[4]
local xid = redis.call('XADD', KEYS[3], '*', 'id', jid, 'enqueued', now, 'command', s(cmd),
  'requested_by', s(req), 'channel', s(f[9]), 'thread_ts', s(f[11]), 'ticket', id,
  'origin', 'approval', 'server', s(server), 'meta', s(f[10]))
redis.call('HSET', KEYS[4], 'state', 'queued', 'attempt', 0, 'entry', xid, 'ticket', id, 'updated', now)
redis.call('PEXPIRE', KEYS[4], ARGV[6])
redis.call('HSET', t, 'state', 'approved', 'job', jid, 'decided', now)
redis.call('ZREM', KEYS[2], id)
audit(KEYS[5], max, now, voter, cmd, server, id, 'approved',
  'approved by ' .. table.concat(approvers, ', ') .. '; job ' .. jid)
return {'ok', redis.call('HGETALL', t), 1, 1}
`

// cancelLua cancels a pending ticket for its requester.
// KEYS: ticket, pending, audit
// ARGV: now, by, audit max
const cancelLua = luaLib + `
local t = KEYS[1]
if redis.call('EXISTS', t) == 0 then return {'notfound'} end
local now, by, max = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', t, 'id', 'state', 'requested_by', 'expires', 'command', 'server')
if f[3] ~= by then return {'notrequester', redis.call('HGETALL', t)} end
if f[2] ~= 'pending' then
  if f[2] == 'expired' then return {'expired', redis.call('HGETALL', t)} end
  return {'decided', redis.call('HGETALL', t)}
end
if tonumber(now) >= tonumber(f[4]) then
  expire(t, KEYS[2], KEYS[3], max, now)
  return {'expired', redis.call('HGETALL', t)}
end
redis.call('HSET', t, 'state', 'cancelled', 'decided', now)
redis.call('ZREM', KEYS[2], f[1])
audit(KEYS[3], max, now, by, f[5], f[6], f[1], 'cancelled', '')
return {'ok', redis.call('HGETALL', t)}
`

// setMessageLua records a ticket's card, if the ticket exists.
// KEYS: ticket; ARGV: channel, ts
const setMessageLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'msg_channel', ARGV[1], 'msg_ts', ARGV[2])
return 1
`

// expireLua expires due pending tickets, each exactly once (ZREM decides).
// KEYS: pending, audit, ticket...
// ARGV: now, audit max, id... (ARGV[2+i] is the ID of KEYS[2+i])
const expireLua = luaLib + `
local now = ARGV[1]
local out = {}
for i = 3, #KEYS do
  local sc = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if sc and tonumber(sc) <= tonumber(now) then
    if redis.call('HGET', KEYS[i], 'state') == 'pending' then
      expire(KEYS[i], KEYS[1], KEYS[2], ARGV[2], now)
      table.insert(out, redis.call('HGETALL', KEYS[i]))
    else
      redis.call('ZREM', KEYS[1], ARGV[i])
    end
  end
end
return out
`

// enqueueLua adds a job to the queue unless a job with its ID exists, or
// (when KEYS[3] is given) a job is recorded under the repeat key KEYS[3];
// it records the job there for the window.
// KEYS: queue, job[, repeat]
// ARGV: now, job ttl (ms), ticket, repeat window (ms), stream field, value, ...
// (the first pair is 'id', the job's ID)
// Returns {'known', ”} | {'repeat', earlier job id} | {'queued', ”}.
const enqueueLua = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {'known', ''} end
if KEYS[3] then
  local prev = redis.call('GET', KEYS[3])
  if prev and prev ~= ARGV[6] then return {'repeat', prev} end
end
local xid = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))
redis.call('HSET', KEYS[2], 'state', 'queued', 'attempt', 0, 'entry', xid, 'ticket', ARGV[3], 'updated', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[4]) end
return {'queued', ''}
`

// takeLua starts a reclaimed delivery: a job already done or failed is
// acknowledged and skipped; otherwise its attempt is counted. A first
// delivery (XREADGROUP) is attempt 1 and is not recorded, so the first
// reclaim is attempt 2.
// KEYS: queue, job
// ARGV: group, entry, consumer, now, job ttl (ms)
// Returns {'skip', state} | {'lost', ”} | {'ok', recorded state, attempt}.
const takeLua = `
local st = redis.call('HGET', KEYS[2], 'state')
if st == 'done' or st == 'failed' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
  return {'skip', st}
end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return {'lost', ''} end
local n = math.max(tonumber(redis.call('HGET', KEYS[2], 'attempt') or '0') or 0, 1) + 1
redis.call('HSET', KEYS[2], 'attempt', n, 'consumer', ARGV[3], 'entry', ARGV[2], 'updated', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {'ok', st or '', n}
`

// heartbeatLua resets the idle time of a delivery its consumer still holds.
// KEYS: queue; ARGV: group, entry, consumer
const heartbeatLua = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
`

// retireLua deletes consumers of the work queue's group that hold no
// delivery, so that consumers of processes gone do not pile up; one that
// holds one is kept (deleting it would drop the delivery). Check and delete
// are atomic, so nothing is delivered to a consumer in between.
// KEYS: queue; ARGV: group, consumer...
// Returns how many were deleted (or did not exist).
const retireLua = `
local n = 0
for i = 2, #ARGV do
  local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[i])
  if ok and #p == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[i])
    n = n + 1
  end
end
return n
`

// releaseLua hands a delivery to the 'released' consumer, long idle, so
// that the next Claim's XAUTOCLAIM takes it at once.
// KEYS: queue, job; ARGV: group, entry, consumer, released consumer, idle (ms), now
const releaseLua = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or (ARGV[3] ~= '' and p[1][2] ~= ARGV[3]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[4], 0, ARGV[2], 'IDLE', ARGV[5], 'JUSTID')
redis.call('HSET', KEYS[2], 'consumer', '', 'updated', ARGV[6])
return 1
`

// markRunningLua records that a job started.
// KEYS: job, audit
// ARGV: now, job ttl (ms), audit max, actor, action, server, ticket, detail
const markRunningLua = luaLib + `
redis.call('HSET', KEYS[1], 'state', 'running', 'started', ARGV[1], 'updated', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
audit(KEYS[2], ARGV[3], ARGV[1], ARGV[4], ARGV[5], ARGV[6], ARGV[7], 'started', ARGV[8])
return 1
`

// finishLua acknowledges a job and records its outcome; given the repeat
// key of a failed job, it frees it if it still names the job.
// KEYS: queue, job, audit[, repeat]
// ARGV: group, entry, state, outcome, now, job ttl (ms), audit max, actor, action, server, ticket, detail, job id
const finishLua = luaLib + `
if KEYS[4] and redis.call('GET', KEYS[4]) == ARGV[13] then redis.call('DEL', KEYS[4]) end
local entry = ARGV[2]
if entry == '' then entry = s(redis.call('HGET', KEYS[2], 'entry')) end
if entry ~= '' then
  redis.call('XACK', KEYS[1], ARGV[1], entry)
  redis.call('XDEL', KEYS[1], entry)
end
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'outcome', ARGV[4], 'updated', ARGV[5], 'consumer', '')
redis.call('PEXPIRE', KEYS[2], ARGV[6])
audit(KEYS[3], ARGV[7], ARGV[5], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[4], ARGV[12])
return 1
`

// scheduleLua stores a delayed job unless one is scheduled under its key.
// KEYS: sched, sched jobs; ARGV: at, key, job (JSON list of stream fields)
const scheduleLua = `
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`

// unscheduleLua removes a delayed job.
// KEYS: sched, sched jobs; ARGV: key
const unscheduleLua = `
local n = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return n
`

// promoteLua moves due delayed jobs to the queue; ZREM decides, so a job
// is promoted once however many replicas try. A job keeps the ID in its
// payload (ARGV's ID is used only for a payload without one); one whose
// payload names another ID than ARGV's (rescheduled since it was read) is
// left for the next round, and one whose ID is already known is dropped
// from the schedule without being queued again.
// KEYS: sched, sched jobs, queue, job...
// ARGV: now, job ttl (ms), key, job id, key, job id, ... (for KEYS[3+i]: ARGV[1+2i], ARGV[2+2i])
const promoteLua = `
local now = ARGV[1]
local n = 0
for i = 1, #KEYS - 3 do
  local key, id = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local sc = redis.call('ZSCORE', KEYS[1], key)
  if sc and tonumber(sc) <= tonumber(now) then
    local payload = redis.call('HGET', KEYS[2], key)
    local f, pid, ticket = {}, nil, ''
    if payload then
      local all = cjson.decode(payload)
      for j = 1, #all - 1, 2 do
        if all[j] == 'id' then
          pid = all[j + 1]
        else
          if all[j] == 'ticket' then ticket = all[j + 1] end
          table.insert(f, all[j])
          table.insert(f, all[j + 1])
        end
      end
    end
    if pid == nil or pid == id then
      redis.call('ZREM', KEYS[1], key)
      redis.call('HDEL', KEYS[2], key)
      if payload and redis.call('EXISTS', KEYS[3 + i]) == 0 then
        local xid = redis.call('XADD', KEYS[3], '*', 'id', id, 'enqueued', now, unpack(f))
        redis.call('HSET', KEYS[3 + i], 'state', 'queued', 'attempt', 0, 'entry', xid, 'ticket', ticket, 'updated', now)
        redis.call('PEXPIRE', KEYS[3 + i], ARGV[2])
        n = n + 1
      end
    end
  end
end
return n
`

// cooldownLua starts a cooldown unless one is running.
// KEYS: cooldown; ARGV: now, duration (ms)
// Returns -1 when started, else the milliseconds remaining.
const cooldownLua = `
local now, d = tonumber(ARGV[1]), tonumber(ARGV[2])
local u = tonumber(redis.call('GET', KEYS[1]) or '0')
if u > now then return u - now end
redis.call('SET', KEYS[1], string.format('%.0f', now + d), 'PX', ARGV[2])
return -1
`

// rateLua is a sliding-window limit: it records an event if fewer than
// limit happened in the window.
// KEYS: rate; ARGV: now, window (ms), limit, unique member
// Returns {ok, count}.
const rateLua = `
local now, w, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - w))
local c = redis.call('ZCARD', KEYS[1])
if c >= limit then return {0, c} end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, c + 1}
`

// distinctLua limits the distinct members seen in a sliding window; a
// member already in the window is allowed again without counting twice.
// KEYS: distinct; ARGV: now, window (ms), limit, member
// Returns {ok, count}.
const distinctLua = `
local now, w, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - w))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, redis.call('ZCARD', KEYS[1])}
end
local c = redis.call('ZCARD', KEYS[1])
if c >= limit then return {0, c} end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, c + 1}
`

// lockAsLua takes a lock for owner if it is free or already owner's, and
// (re)sets its TTL.
// KEYS: lock; ARGV: owner, ttl (ms)
const lockAsLua = `
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`

// unlockLua deletes a lock if it still holds the caller's token.
// KEYS: lock; ARGV: token
const unlockLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

type scripts struct {
	submit, vote, cancel, setMessage, expire       *redis.Script
	enqueue, take, heartbeat, release, markRunning *redis.Script
	finish, schedule, unschedule, promote          *redis.Script
	cooldown, rate, distinct, unlock, retire       *redis.Script
	lockAs                                         *redis.Script
	startHere                                      *redis.Script // here.go
	grace                                          graceScripts  // staged.go
	hold, cancelHold, takeHolds, doneHold          *redis.Script // holds.go
}

func newScripts() scripts {
	return scripts{
		submit:      redis.NewScript(submitLua),
		vote:        redis.NewScript(voteLua),
		cancel:      redis.NewScript(cancelLua),
		setMessage:  redis.NewScript(setMessageLua),
		expire:      redis.NewScript(expireLua),
		enqueue:     redis.NewScript(enqueueLua),
		take:        redis.NewScript(takeLua),
		heartbeat:   redis.NewScript(heartbeatLua),
		release:     redis.NewScript(releaseLua),
		markRunning: redis.NewScript(markRunningLua),
		finish:      redis.NewScript(finishLua),
		schedule:    redis.NewScript(scheduleLua),
		unschedule:  redis.NewScript(unscheduleLua),
		promote:     redis.NewScript(promoteLua),
		cooldown:    redis.NewScript(cooldownLua),
		rate:        redis.NewScript(rateLua),
		distinct:    redis.NewScript(distinctLua),
		unlock:      redis.NewScript(unlockLua),
		retire:      redis.NewScript(retireLua),
		lockAs:      redis.NewScript(lockAsLua),
		startHere:   redis.NewScript(startHereLua),
		grace:       newGraceScripts(),
		hold:        redis.NewScript(holdLua),
		cancelHold:  redis.NewScript(cancelHoldLua),
		takeHolds:   redis.NewScript(takeHoldsLua),
		doneHold:    redis.NewScript(doneHoldLua),
	}
}

func (sc scripts) all() []*redis.Script {
	return append([]*redis.Script{sc.submit, sc.vote, sc.cancel, sc.setMessage, sc.expire,
		sc.enqueue, sc.take, sc.heartbeat, sc.release, sc.markRunning,
		sc.finish, sc.schedule, sc.unschedule, sc.promote,
		sc.cooldown, sc.rate, sc.distinct, sc.unlock, sc.retire, sc.lockAs, sc.startHere,
		sc.hold, sc.cancelHold, sc.takeHolds, sc.doneHold}, sc.grace.all()...)
}
