package approvals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Holds are decisions put off until a time: an entry point stores an opaque
// payload under a key of its own (Hold), may take it back before it is due
// (CancelHold), and, once it is due, exactly one caller across replicas
// takes it (TakeDueHolds) with a lease, decides, and acknowledges it
// (DoneHold). A taker that dies before DoneHold leaves the hold to be taken
// again when its lease runs out, with Attempt counting the takes. The
// monitoring webhooks hold automatic reboots this way (REBOOT_DELAY): the
// Store knows nothing of what a payload means.
//
// Keys: holds (sorted set of waiting keys, by due time), holds:taken
// (sorted set of taken keys, by lease end), holds:data and holds:tries
// (hashes of payloads and take counts, by key).

// A Held is a hold taken by TakeDueHolds.
type Held struct {
	Key, Payload string
	// Attempt is 1 the first time the hold is taken, and more when an
	// earlier taker's lease ran out before it called DoneHold.
	Attempt int
}

// holdKeys are the keys of every hold script, in their order.
func (s *Store) holdKeys() []string {
	return []string{s.key("holds"), s.key("holds", "taken"), s.key("holds", "data"), s.key("holds", "tries")}
}

// Hold stores payload under key, to be taken by TakeDueHolds from at on.
// It returns false, and changes nothing, if key is already held (waiting
// or taken).
func (s *Store) Hold(ctx context.Context, key, payload string, at time.Time) (bool, error) {
	if key == "" {
		return false, errors.New("approvals: hold: empty key")
	}
	n, err := s.decide(ctx, s.sc.hold, s.holdKeys(), ms(at), key, payload).Int()
	if err != nil {
		return false, fmt.Errorf("approvals: hold: %w", err)
	}
	return n == 1, nil
}

// CancelHold removes the hold key if it is still waiting, and reports
// whether it was. A hold already taken (its time came) is not cancelled:
// its taker decides it.
func (s *Store) CancelHold(ctx context.Context, key string) (bool, error) {
	n, err := s.decide(ctx, s.sc.cancelHold, s.holdKeys(), key).Int()
	if err != nil {
		return false, fmt.Errorf("approvals: cancel hold: %w", err)
	}
	return n == 1, nil
}

// TakeDueHolds takes at most limit holds that are due (and those whose
// taker's lease ran out), each for lease: one script, so that each is taken
// by one caller however many replicas ask at once. The caller decides each
// and calls DoneHold; until then, or until lease ends, no one else takes it.
func (s *Store) TakeDueHolds(ctx context.Context, lease time.Duration, limit int) ([]Held, error) {
	if lease <= 0 || limit < 1 {
		return nil, errors.New("approvals: take holds: lease and limit must be positive")
	}
	now := s.now()
	res, err := s.decide(ctx, s.sc.takeHolds, s.holdKeys(), ms(now), ms(now.Add(lease)), limit).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("approvals: take holds: %w", err)
	}
	var hs []Held
	for i := 0; i+2 < len(res); i += 3 {
		key, _ := res[i].(string)
		payload, _ := res[i+1].(string)
		n, _ := res[i+2].(int64)
		hs = append(hs, Held{Key: key, Payload: payload, Attempt: int(n)})
	}
	return hs, nil
}

// DoneHold forgets the hold key once its taker has decided it.
func (s *Store) DoneHold(ctx context.Context, key string) error {
	if err := s.decide(ctx, s.sc.doneHold, s.holdKeys(), key).Err(); err != nil {
		return fmt.Errorf("approvals: done hold: %w", err)
	}
	return nil
}

// holdLua stores a hold unless its key is held already.
// KEYS: holds, taken, data, tries; ARGV: at, key, payload
const holdLua = `
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return 1
`

// cancelHoldLua removes a hold that is still waiting.
// KEYS: holds, taken, data, tries; ARGV: key
const cancelHoldLua = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`

// takeHoldsLua moves due holds, and taken ones whose lease ended, to taken
// with a new lease, and returns key, payload and attempt for each. A hold
// whose payload is gone is dropped.
// KEYS: holds, taken, data, tries; ARGV: now, lease end, limit
const takeHoldsLua = `
local out = {}
local function take(set, k)
  redis.call('ZREM', set, k)
  local p = redis.call('HGET', KEYS[3], k)
  if not p then
    redis.call('HDEL', KEYS[4], k)
    return
  end
  redis.call('ZADD', KEYS[2], ARGV[2], k)
  local n = redis.call('HINCRBY', KEYS[4], k, 1)
  table.insert(out, k)
  table.insert(out, p)
  table.insert(out, n)
end
local limit = tonumber(ARGV[3])
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, limit)) do take(KEYS[2], k) end
local room = limit - #out / 3
if room > 0 then
  for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, room)) do take(KEYS[1], k) end
end
return out
`

// doneHoldLua forgets a taken hold.
// KEYS: holds, taken, data, tries; ARGV: key
const doneHoldLua = `
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`
