package bot

import (
	"context"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/commands"
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
		if err := Sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// Sleep waits for d or until ctx is done (then it returns ctx's error):
// the executor's and the edges' pauses between attempts.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lockServer makes sure no other action runs on a's server, in this
// process or any other, until the returned function is called. It waits
// while another holds the lock, until ctx is done.
func (e *execution) lockServer(ctx context.Context, a commands.Action) (func(), error) {
	name := a.Server()
	if n, err := e.s.api.ResolveName(ctx, name); err == nil {
		name = n.String()
	}
	// Keyed on the server's ID: every alias of it takes the same lock.
	key := ServerKey(e.id, name)
	unlock := e.s.locks.lock(key)
	// The action's own time limit bounds how long the lock is needed; the
	// minute covers the reads before it starts. A holder that dies keeps
	// the server locked no longer than that for other jobs; its own job,
	// retried, re-enters the lock at once (a job's lease lets only one
	// live worker hold it at a time).
	release, err := e.s.redisLock(ctx, "server:"+key, "job:"+e.job.ID, commands.Timeout(a)+time.Minute)
	if err != nil {
		unlock()
		return nil, err
	}
	return func() {
		release()
		unlock()
	}, nil
}

// mayChange reports whether job may change a server when it runs: it is not
// a read, nor the preparation of an approval card.
func mayChange(job *approvals.Job) bool {
	if job.TicketID != "" {
		return true
	}
	if jobMetaOf(job).Phase == phaseAsk {
		return false
	}
	a, err := commands.Parse(job.Command)
	return err == nil && !commands.ReadOnly(a)
}
