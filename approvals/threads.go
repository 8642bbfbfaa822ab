package approvals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetThreads records where each alert occurrence was reported: threads
// maps an occurrence's key to the Slack thread (the ts of the message) its
// decision was posted in, kept for ttl, so that a later resolve or the end
// of a hold is reported in the same thread.
func (s *Store) SetThreads(ctx context.Context, threads map[string]string, ttl time.Duration) error {
	if len(threads) == 0 {
		return nil
	}
	if ttl <= 0 {
		return errors.New("approvals: threads: ttl must be positive")
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for occ, ts := range threads {
			p.Set(ctx, s.key("thread", occ), ts, ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("approvals: threads: %w", err)
	}
	return nil
}

// Thread returns the thread SetThreads recorded for the occurrence occ, or
// "" if there is none.
func (s *Store) Thread(ctx context.Context, occ string) (string, error) {
	ts, err := s.rdb.Get(ctx, s.key("thread", occ)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("approvals: thread: %w", err)
	}
	return ts, nil
}
