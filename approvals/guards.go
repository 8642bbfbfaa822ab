package approvals

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Once claims key for ttl: it returns true the first time and false while
// the claim lasts, for double submissions and repeated deliveries. The
// claim uses Redis's clock (SET NX PX).
func (s *Store) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errors.New("approvals: once: ttl must be positive")
	}
	ok, err := s.rdb.SetNX(ctx, s.key("once", key), "1", time.Duration(durMS(ttl))*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("approvals: once: %w", err)
	}
	return ok, nil
}

// Lock takes the lock key for ttl if it is free and returns a token for
// Unlock, or "" if another holds it. The lock ends by itself after ttl
// (Redis's clock) if its holder dies.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", errors.New("approvals: lock: ttl must be positive")
	}
	token := newID() + newID()
	ok, err := s.rdb.SetNX(ctx, s.key("lock", key), token, time.Duration(durMS(ttl))*time.Millisecond).Result()
	if err != nil {
		return "", fmt.Errorf("approvals: lock: %w", err)
	}
	if !ok {
		return "", nil
	}
	return token, nil
}

// LockAs takes the lock key for owner for ttl if it is free or already
// held by owner, and reports whether owner now holds it. Taking it again
// as its owner renews its TTL, so an owner that outlives its earlier
// holder (a job retried after its worker died) re-enters at once, while
// any other owner waits. Check and take are one script; Unlock(key,
// owner) releases it. owner must be unique to its holder.
func (s *Store) LockAs(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errors.New("approvals: lock: ttl must be positive")
	}
	if owner == "" {
		return false, errors.New("approvals: lock: owner is required")
	}
	n, err := s.sc.lockAs.Run(ctx, s.rdb, []string{s.key("lock", key)}, owner, durMS(ttl)).Int()
	if err != nil {
		return false, fmt.Errorf("approvals: lock: %w", err)
	}
	return n == 1, nil
}

// Unlock releases the lock key if it is still held with token, the token
// Lock returned or the owner given to LockAs (it may have expired and been
// taken by another since).
func (s *Store) Unlock(ctx context.Context, key, token string) error {
	if err := s.sc.unlock.Run(ctx, s.rdb, []string{s.key("lock", key)}, token).Err(); err != nil {
		return fmt.Errorf("approvals: unlock: %w", err)
	}
	return nil
}

// Cooldown starts a cooldown of d on key unless one is running. ok is true
// when it started one now; otherwise remaining is how long the running
// one has left. Check and start are one script.
func (s *Store) Cooldown(ctx context.Context, key string, d time.Duration) (ok bool, remaining time.Duration, err error) {
	if d <= 0 {
		return false, 0, errors.New("approvals: cooldown: duration must be positive")
	}
	n, err := s.sc.cooldown.Run(ctx, s.rdb, []string{s.key("cooldown", key)}, ms(s.now()), durMS(d)).Int64()
	if err != nil {
		return false, 0, fmt.Errorf("approvals: cooldown: %w", err)
	}
	if n < 0 {
		return true, 0, nil
	}
	return false, time.Duration(n) * time.Millisecond, nil
}

// RateLimit records an event on key if fewer than limit were recorded in
// the sliding window ending now (so 3 per 24h means 3 in any 24 hours).
// ok says whether it was recorded; count is the number in the window,
// including this one when ok. Check and record are one script.
func (s *Store) RateLimit(ctx context.Context, key string, limit int, window time.Duration) (ok bool, count int, err error) {
	if limit < 1 || window <= 0 {
		return false, 0, errors.New("approvals: rate limit: limit and window must be positive")
	}
	v, err := s.sc.rate.Run(ctx, s.rdb, []string{s.key("rate", key)}, ms(s.now()), durMS(window), limit, newID()).Slice()
	if err != nil {
		return false, 0, fmt.Errorf("approvals: rate limit: %w", err)
	}
	return num(v[0]) == 1, int(num(v[1])), nil
}

// DistinctLimit is the fleet brake: it allows member if fewer than limit
// distinct members were allowed on key in the sliding window ending now.
// A member already counted in the window is allowed again without
// counting twice (a server re-firing takes no second slot), and its time
// is refreshed, so it stays counted for a window after its latest use.
// count is the number of distinct members in the window. Check and record
// are one script.
func (s *Store) DistinctLimit(ctx context.Context, key, member string, limit int, window time.Duration) (ok bool, count int, err error) {
	if limit < 1 || window <= 0 {
		return false, 0, errors.New("approvals: distinct limit: limit and window must be positive")
	}
	v, err := s.sc.distinct.Run(ctx, s.rdb, []string{s.key("distinct", key)}, ms(s.now()), durMS(window), limit, member).Slice()
	if err != nil {
		return false, 0, fmt.Errorf("approvals: distinct limit: %w", err)
	}
	return num(v[0]) == 1, int(num(v[1])), nil
}
