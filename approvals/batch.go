package approvals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The batch forms below do what their single forms do for many keys in one
// round trip (a pipeline), for callers that decide many things at once: a
// webhook delivery of a hundred alerts. Each key is still decided on its
// own, atomically; the batch is not a transaction.

// LockEach is Lock for each of keys: tokens[i] is the token for keys[i],
// or "" if that lock was held.
func (s *Store) LockEach(ctx context.Context, keys []string, ttl time.Duration) ([]string, error) {
	if ttl <= 0 {
		return nil, errors.New("approvals: lock: ttl must be positive")
	}
	if len(keys) == 0 {
		return nil, nil
	}
	tokens := make([]string, len(keys))
	cmds := make([]*redis.BoolCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			tokens[i] = newID() + newID()
			cmds[i] = p.SetNX(ctx, s.key("lock", k), tokens[i], time.Duration(durMS(ttl))*time.Millisecond)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approvals: lock: %w", err)
	}
	for i, c := range cmds {
		if !c.Val() {
			tokens[i] = ""
		}
	}
	return tokens, nil
}

// A CooldownResult is the outcome of one key of CooldownEach: as Cooldown
// returns it.
type CooldownResult struct {
	OK        bool
	Remaining time.Duration
}

// CooldownEach is Cooldown for each of keys.
func (s *Store) CooldownEach(ctx context.Context, keys []string, d time.Duration) ([]CooldownResult, error) {
	if d <= 0 {
		return nil, errors.New("approvals: cooldown: duration must be positive")
	}
	if len(keys) == 0 {
		return nil, nil
	}
	now := ms(s.now())
	vals, err := s.runEach(ctx, s.sc.cooldown, len(keys), func(i int) ([]string, []any) {
		return []string{s.key("cooldown", keys[i])}, []any{now, durMS(d)}
	})
	if err != nil {
		return nil, fmt.Errorf("approvals: cooldown: %w", err)
	}
	out := make([]CooldownResult, len(keys))
	for i, v := range vals {
		n := num(v)
		if n < 0 {
			out[i].OK = true
		} else {
			out[i].Remaining = time.Duration(n) * time.Millisecond
		}
	}
	return out, nil
}

// AuditEach appends entries to the audit log, in order.
func (s *Store) AuditEach(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range entries {
			p.XAdd(ctx, s.auditArgs(auditStream, e))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("approvals: audit: %w", err)
	}
	return nil
}

// runEach runs script n times in one pipeline, with the keys and args
// args(i) gives, and returns the results in order. Scripts are loaded by
// Load; if Redis lost them (a restart), they are loaded again and the
// pipeline sent once more, which is safe because no call of a NOSCRIPT
// pipeline ran.
func (s *Store) runEach(ctx context.Context, script *redis.Script, n int, args func(i int) ([]string, []any)) ([]any, error) {
	for try := 0; ; try++ {
		cmds := make([]*redis.Cmd, n)
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range n {
				k, a := args(i)
				cmds[i] = script.EvalSha(ctx, p, k, a...)
			}
			return nil
		})
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") && try == 0 {
			if err := script.Load(ctx, s.rdb).Err(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i, c := range cmds {
			out[i] = c.Val()
		}
		return out, nil
	}
}
