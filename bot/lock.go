package bot

import (
	"context"
	"time"
)

// redisLock takes the lock key in Redis, shared by every replica, for ttl,
// as owner, waiting while another owner holds it until ctx is done. The
// lock ends by itself after ttl if its holder dies; before that, the same
// owner (a retry of a job whose worker died) takes it again at once.
func (s *Server) redisLock(ctx context.Context, key, owner string, ttl time.Duration) (func(), error) {
	for {
		ok, err := s.Store.LockAs(ctx, key, owner, ttl)
		if err != nil {
			return nil, err
		}
		if ok {
			return func() {
				// The job's context may have run out; unlocking must not.
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := s.Store.Unlock(ctx, key, owner); err != nil {
					s.Logger.Warn("releasing server lock", "key", key, "err", err)
				}
			}, nil
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}
