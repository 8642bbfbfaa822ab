package bot

import (
	"context"
	"time"
)

// redisLock takes the lock key in Redis, shared by every replica, for ttl,
// waiting while another holds it until ctx is done. The lock ends by itself
// after ttl if its holder dies.
func (s *Server) redisLock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	for {
		token, err := s.Store.Lock(ctx, key, ttl)
		if err != nil {
			return nil, err
		}
		if token != "" {
			return func() {
				// The job's context may have run out; unlocking must not.
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := s.Store.Unlock(ctx, key, token); err != nil {
					s.Logger.Warn("releasing server lock", "key", key, "err", err)
				}
			}, nil
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}
