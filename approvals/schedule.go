// Scheduled jobs: stored under a key and queued when due (PromoteDue).

package approvals

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Schedule stores job to be queued at at (by PromoteDue), under key. It
// returns false, and changes nothing, if a job is already scheduled under
// key. The job keeps its ID (a new one when empty) when it is promoted, so
// markers keyed on the job ID hold across a reschedule, and promoting a job
// whose ID is already known (queued, or run within JobRetention) queues
// nothing, as Enqueue does.
func (s *Store) Schedule(ctx context.Context, key string, job Job, at time.Time) (bool, error) {
	if job.ID == "" {
		job.ID = newID()
	}
	fields, err := streamFields(job)
	if err != nil {
		return false, fmt.Errorf("approvals: schedule: %w", err)
	}
	payload, err := json.Marshal(append([]string{"id", job.ID}, fields...))
	if err != nil {
		return false, fmt.Errorf("approvals: schedule: %w", err)
	}
	n, err := s.decide(ctx, s.sc.schedule, []string{s.key("sched"), s.key("sched", "jobs")}, ms(at), key, string(payload)).Int()
	if err != nil {
		return false, fmt.Errorf("approvals: schedule: %w", err)
	}
	return n == 1, nil
}

// CancelScheduled removes the job scheduled under key and reports whether
// it was still scheduled (false if it was already promoted or never was).
func (s *Store) CancelScheduled(ctx context.Context, key string) (bool, error) {
	n, err := s.decide(ctx, s.sc.unschedule, []string{s.key("sched"), s.key("sched", "jobs")}, key).Int()
	if err != nil {
		return false, fmt.Errorf("approvals: cancel scheduled: %w", err)
	}
	return n == 1, nil
}

// PromoteDue moves the scheduled jobs that are due to the work queue and
// returns how many it moved. Each job is moved once however many replicas
// promote at the same time.
func (s *Store) PromoteDue(ctx context.Context) (int, error) {
	const batch = 100
	total := 0
	for {
		now := s.now()
		due, err := s.rdb.ZRangeByScore(ctx, s.key("sched"), &redis.ZRangeBy{Min: "-inf", Max: ms(now), Count: batch}).Result()
		if err != nil {
			return total, fmt.Errorf("approvals: promote: %w", err)
		}
		if len(due) == 0 {
			return total, nil
		}
		// The IDs the jobs were scheduled with (the script checks them:
		// a job rescheduled in between waits for the next round).
		payloads, err := s.rdb.HMGet(ctx, s.key("sched", "jobs"), due...).Result()
		if err != nil {
			return total, fmt.Errorf("approvals: promote: %w", err)
		}
		keys := []string{s.key("sched"), s.key("sched", "jobs"), s.key("queue")}
		args := []any{ms(now), durMS(JobRetention)}
		for i, k := range due {
			id := scheduledID(payloads[i])
			keys = append(keys, s.jobKey(id))
			args = append(args, k, id)
		}
		n, err := s.decide(ctx, s.sc.promote, keys, args...).Int()
		total += n
		if err != nil {
			return total, fmt.Errorf("approvals: promote: %w", err)
		}
		if len(due) < batch {
			return total, nil
		}
	}
}

// scheduledID is the ID in a delayed job's payload; a new one for a
// payload stored without one (before jobs kept their IDs) or gone.
func scheduledID(payload any) string {
	var fields []string
	if p, ok := payload.(string); ok && json.Unmarshal([]byte(p), &fields) == nil {
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == "id" && validID(fields[i+1]) {
				return fields[i+1]
			}
		}
	}
	return newID()
}
