package approvals

import (
	"context"
	"fmt"
)

// Jobs run where they were asked (a person's read, in the process that
// received it) skip the work queue: nothing else needs to pick them up,
// and a read that dies with its process is asked again by the person
// rather than retried. They keep the rest of a job's life: once only (the
// same ID starts once, whichever way it came: here or queued), and the
// audit entry, written by Finish as for a queued job. Two round trips:
// StartHere and Finish.

// startHereLua records a job run where it was asked, unless a job with its
// ID exists (queued or run before).
// KEYS: job; ARGV: now, job ttl (ms)
const startHereLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'running', 'attempt', 1, 'entry', '', 'here', 1, 'started', ARGV[1], 'updated', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`

// StartHere records job (with its ID set) as started in this process,
// outside the queue, and reports whether it did: false when a job with
// the ID is known already (the same request delivered again). Finish
// records its outcome and audit entry; there is no lease to keep, and
// nothing to Release.
func (s *Store) StartHere(ctx context.Context, job *Job) (bool, error) {
	if job.ID == "" {
		return false, fmt.Errorf("approvals: start here: a job without an ID")
	}
	n, err := s.decide(ctx, s.sc.startHere, []string{s.jobKey(job.ID)}, ms(s.now()), durMS(JobRetention)).Int()
	if err != nil {
		return false, fmt.Errorf("approvals: start here: %w", err)
	}
	job.Attempt, job.State, job.entry, job.consumer = 1, JobRunning, "", ""
	return n == 1, nil
}
