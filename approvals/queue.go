package approvals

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A JobState is what is recorded about a job's progress.
type JobState string

// Job states. A job is queued until a worker calls MarkRunning, and ends
// done or failed (Finish).
const (
	JobQueued  JobState = "queued"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// A Job is work for the executor: an action to run, from a quorum of
// approvals, straight from the bot (Enqueue) or a delayed job (Schedule).
type Job struct {
	// ID is the job's ID, short and random.
	ID string
	// Command is the canonical text of the action.
	Command, RequestedBy, Channel, ThreadTS string
	// TicketID is the approved ticket behind the job, if any.
	TicketID string
	// Origin says where the job came from ("approval" for a quorum).
	Origin string
	// Server is the target server, for the audit log.
	Server string
	// Meta is free-form; Meta[MetaServerID], the server's numeric ID,
	// is recorded in the job's audit entries.
	Meta map[string]string
	// RepeatKey is the repeat key EnqueueOnce recorded the job under;
	// finishing the job failed frees it, so that asking again is not
	// taken for a repeat of something that did not happen.
	RepeatKey string
	// Attempt counts the claims of this job, 1 for the first.
	Attempt int
	// Retry is true when an earlier attempt may have started the action
	// (the job was recorded running, or its record is lost): the executor
	// must look at the server's state before doing anything.
	Retry bool
	// State is the state recorded when the job was claimed: queued,
	// running, or "" when the record is lost.
	State      JobState
	EnqueuedAt time.Time

	entry    string // the stream entry of this delivery
	consumer string // who claimed it
}

// MetaServerID is the Job.Meta key of the target server's numeric ID.
const MetaServerID = "server_id"

// Enqueue adds job to the work queue and returns its ID (job.ID, or a new
// one when empty). Enqueueing an ID that is already known (within
// JobRetention) does nothing and returns the ID, so a repeated delivery
// with a fixed ID queues nothing twice.
func (s *Store) Enqueue(ctx context.Context, job Job) (string, error) {
	res, err := s.EnqueueOnce(ctx, job, "", 0)
	return res.ID, err
}

// An EnqueueResult says what EnqueueOnce did.
type EnqueueResult struct {
	// ID is the job's ID.
	ID string
	// Queued is true when the job was queued now; false when its ID was
	// already known (the same request delivered again) or a repeat was
	// found under the repeat key.
	Queued bool
	// Repeat is the ID of the earlier job found under the repeat key,
	// when that is why nothing was queued.
	Repeat string
}

// EnqueueOnce is Enqueue for a request that may arrive more than once, in
// one script (one round trip): a job whose ID is already known is not
// queued again (give a request's retries and replays the same ID), and,
// when repeatKey is not empty, neither is one while a job recorded under
// repeatKey in the last window exists (a person asking again for what was
// queued already, e.g. after an answer that said it might not have been).
// The job is recorded under repeatKey for window when it is queued.
func (s *Store) EnqueueOnce(ctx context.Context, job Job, repeatKey string, window time.Duration) (EnqueueResult, error) {
	if job.ID == "" {
		job.ID = newID()
	}
	job.RepeatKey = ""
	if repeatKey != "" && window > 0 {
		job.RepeatKey = repeatKey
	}
	fields, err := streamFields(job)
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("approvals: enqueue: %w", err)
	}
	now := ms(s.now())
	keys := []string{s.key("queue"), s.jobKey(job.ID)}
	if job.RepeatKey != "" {
		keys = append(keys, s.key("repeat", job.RepeatKey))
	}
	args := []any{now, durMS(JobRetention), job.TicketID, durMS(window), "id", job.ID, "enqueued", now}
	for _, f := range fields {
		args = append(args, f)
	}
	v, err := s.decide(ctx, s.sc.enqueue, keys, args...).Slice()
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("approvals: enqueue: %w", err)
	}
	res := EnqueueResult{ID: job.ID}
	switch str(v[0]) {
	case "queued":
		res.Queued = true
	case "repeat":
		res.Repeat = str(v[1])
	}
	return res, nil
}

// Claim gives consumer the next job: first one whose lease ran out (its
// worker died or handed it back), else a new one, waiting up to block for
// one to arrive (keep it to seconds: a cancelled ctx is noticed when the
// wait ends). It returns nil, nil when there is none.
//
// The job is held with a lease of Options.Lease: the worker must call
// Heartbeat more often than that, and Finish (or Release) at the end, or
// the job is given to another worker. A reclaimed job recorded as done or
// failed is acknowledged and skipped; one recorded running comes with
// Retry set.
//
// A new job costs one round trip to Redis. Deliveries to reclaim are looked
// for at most every ReclaimInterval (and at once after this Store's
// Release), since leases are long and reclaiming is rare: a job whose lease
// ran out waits at most that long more.
func (s *Store) Claim(ctx context.Context, consumer string, block time.Duration) (*Job, error) {
	if consumer == "" || consumer == released {
		return nil, fmt.Errorf("approvals: claim: invalid consumer name %q", consumer)
	}
	if s.sweepDue() {
		job, err := s.reclaim(ctx, consumer)
		if err != nil || job != nil {
			return job, err
		}
		s.sweptAt.Store(time.Now().UnixNano())
	}
	msg, err := s.readNew(ctx, consumer, block)
	if err != nil || msg == nil {
		return nil, err
	}
	// A first delivery needs no check: a job is queued once (Enqueue,
	// a vote's quorum or PromoteDue create its record as queued) and only
	// a worker holding it changes that record.
	job := parseJob(msg)
	job.State = JobQueued
	job.Attempt = 1
	job.consumer = consumer
	return job, nil
}

// ReclaimInterval is the longest a Claim goes without looking for
// deliveries whose lease ran out (less when the lease is short).
const ReclaimInterval = time.Second

func (s *Store) sweepDue() bool {
	every := min(s.lease/4, ReclaimInterval)
	return time.Now().UnixNano()-s.sweptAt.Load() >= int64(every)
}

// reclaim takes over a delivery whose lease ran out, if there is one.
func (s *Store) reclaim(ctx context.Context, consumer string) (*Job, error) {
	start := "0-0"
	for range 1000 { // each call looks at up to 10 entries of the pending list
		msgs, cursor, err := s.xautoclaim(ctx, consumer, start)
		if err != nil {
			return nil, fmt.Errorf("approvals: claim: %w", err)
		}
		for i := range msgs {
			job, err := s.take(ctx, consumer, &msgs[i])
			if err != nil || job != nil {
				return job, err
			}
		}
		if cursor == "0-0" || cursor == "" {
			return nil, nil
		}
		start = cursor
	}
	return nil, nil
}

// xautoclaim claims one delivery idle for longer than the lease, creating
// the consumer group if needed.
func (s *Store) xautoclaim(ctx context.Context, consumer, start string) ([]redis.XMessage, string, error) {
	args := &redis.XAutoClaimArgs{
		Stream: s.key("queue"), Group: group, Consumer: consumer, MinIdle: s.lease, Start: start, Count: 1,
	}
	msgs, cursor, err := s.rdb.XAutoClaim(ctx, args).Result()
	if isNoGroup(err) {
		if err := s.ensureGroup(ctx); err != nil {
			return nil, "", err
		}
		msgs, cursor, err = s.rdb.XAutoClaim(ctx, args).Result()
	}
	return msgs, cursor, err
}

// readNew reads the next new delivery for consumer, waiting up to block.
func (s *Store) readNew(ctx context.Context, consumer string, block time.Duration) (*redis.XMessage, error) {
	if block <= 0 {
		block = -1 // no BLOCK
	} else if block < time.Millisecond {
		block = time.Millisecond
	}
	args := &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{s.key("queue"), ">"}, Count: 1, Block: block,
	}
	streams, err := s.rdb.XReadGroup(ctx, args).Result()
	if isNoGroup(err) {
		if err := s.ensureGroup(ctx); err != nil {
			return nil, err
		}
		streams, err = s.rdb.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("approvals: claim: %w", err)
	}
	for _, st := range streams {
		if len(st.Messages) > 0 {
			return &st.Messages[0], nil
		}
	}
	return nil, nil
}

// take starts a delivery: nil, nil means it was skipped.
func (s *Store) take(ctx context.Context, consumer string, msg *redis.XMessage) (*Job, error) {
	job := parseJob(msg)
	keys := []string{s.key("queue"), s.jobKey(job.ID)}
	v, err := s.sc.take.Run(ctx, s.rdb, keys, group, msg.ID, consumer, ms(s.now()), durMS(JobRetention)).Slice()
	if err != nil {
		return nil, fmt.Errorf("approvals: claim: %w", err)
	}
	if str(v[0]) != "ok" {
		return nil, nil
	}
	job.State = JobState(str(v[1]))
	job.Attempt = int(num(v[2]))
	job.Retry = job.State != JobQueued
	job.consumer = consumer
	return job, nil
}

// Heartbeat extends consumer's lease of job. It returns ErrLeaseLost if
// consumer no longer holds the job.
func (s *Store) Heartbeat(ctx context.Context, job *Job, consumer string) error {
	entry, err := s.entryOf(ctx, job)
	if err != nil {
		return err
	}
	n, err := s.sc.heartbeat.Run(ctx, s.rdb, []string{s.key("queue")}, group, entry, consumer).Int()
	if err != nil {
		return fmt.Errorf("approvals: heartbeat: %w", err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// MarkRunning records that job's action is starting, so that a worker that
// reclaims it knows it is a retry, and audits the start.
func (s *Store) MarkRunning(ctx context.Context, job *Job) error {
	keys := []string{s.jobKey(job.ID), s.key("audit")}
	err := s.decide(ctx, s.sc.markRunning, keys, ms(s.now()), durMS(JobRetention), s.auditMax,
		job.RequestedBy, job.Command, job.Server, job.TicketID, jobDetail(job)).Err()
	if err != nil {
		return fmt.Errorf("approvals: mark running: %w", err)
	}
	return nil
}

// Finish acknowledges job (it leaves the queue), records it done or
// failed with outcome, and audits the outcome; all in one script.
func (s *Store) Finish(ctx context.Context, job *Job, outcome string, failed bool) error {
	state := JobDone
	if failed {
		state = JobFailed
	}
	if outcome == "" {
		outcome = string(state)
	}
	keys := []string{s.key("queue"), s.jobKey(job.ID), s.key("audit")}
	if failed && job.RepeatKey != "" {
		keys = append(keys, s.key("repeat", job.RepeatKey))
	}
	err := s.decide(ctx, s.sc.finish, keys, group, job.entry, string(state), outcome, ms(s.now()),
		durMS(JobRetention), s.auditMax, job.RequestedBy, job.Command, job.Server, job.TicketID, jobDetail(job), job.ID).Err()
	if err != nil {
		return fmt.Errorf("approvals: finish: %w", err)
	}
	return nil
}

// Release hands job back, on shutdown, so that another worker can take it
// at once. The job's delivery moves to a consumer named "released" with a
// long idle time, so that the next Claim that looks for deliveries to
// reclaim (this Store's next one; another's within ReclaimInterval) picks
// it up; its recorded
// state is unchanged, so a job released before MarkRunning comes back as
// a first run (Retry false, Attempt counted up) and one released after it
// comes back as a retry. It returns ErrLeaseLost if the job was no longer
// held by the worker that claimed it.
func (s *Store) Release(ctx context.Context, job *Job) error {
	entry, err := s.entryOf(ctx, job)
	if err != nil {
		return err
	}
	idle := (365 * 24 * time.Hour).Milliseconds()
	n, err := s.sc.release.Run(ctx, s.rdb, []string{s.key("queue"), s.jobKey(job.ID)},
		group, entry, job.consumer, released, idle, ms(s.now())).Int()
	if err != nil {
		return fmt.Errorf("approvals: release: %w", err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	s.sweptAt.Store(0)
	return nil
}

// Retire removes consumers, which must have stopped claiming, from the
// work queue's consumer group, so that the group does not grow with every
// process that ever ran. A consumer that still holds a delivery is kept, so
// that its job is reclaimed as usual. It returns how many were removed.
func (s *Store) Retire(ctx context.Context, consumers ...string) (int, error) {
	if len(consumers) == 0 {
		return 0, nil
	}
	args := []any{group}
	for _, c := range consumers {
		args = append(args, c)
	}
	n, err := s.sc.retire.Run(ctx, s.rdb, []string{s.key("queue")}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("approvals: retire consumers: %w", err)
	}
	return n, nil
}

// entryOf returns the stream entry of job's delivery.
func (s *Store) entryOf(ctx context.Context, job *Job) (string, error) {
	if job.entry != "" {
		return job.entry, nil
	}
	e, err := s.rdb.HGet(ctx, s.jobKey(job.ID), "entry").Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrLeaseLost
	}
	if err != nil {
		return "", fmt.Errorf("approvals: job %s: %w", job.ID, err)
	}
	return e, nil
}

func (s *Store) jobKey(id string) string { return s.key("job", id) }

// streamFields are the fields of job's stream entry, but its ID and time.
func streamFields(job Job) ([]string, error) {
	meta, err := encodeMeta(job.Meta)
	if err != nil {
		return nil, err
	}
	fields := []string{
		"command", job.Command, "requested_by", job.RequestedBy, "channel", job.Channel,
		"thread_ts", job.ThreadTS, "ticket", job.TicketID, "origin", job.Origin,
		"server", job.Server, "meta", meta,
	}
	if job.RepeatKey != "" {
		fields = append(fields, "repeat", job.RepeatKey)
	}
	return fields, nil
}

func parseJob(msg *redis.XMessage) *Job {
	f := func(k string) string { return str(msg.Values[k]) }
	return &Job{
		ID:          f("id"),
		Command:     f("command"),
		RequestedBy: f("requested_by"),
		Channel:     f("channel"),
		ThreadTS:    f("thread_ts"),
		TicketID:    f("ticket"),
		Origin:      f("origin"),
		Server:      f("server"),
		Meta:        decodeMeta(f("meta")),
		RepeatKey:   f("repeat"),
		EnqueuedAt:  fromMS(f("enqueued")),
		entry:       msg.ID,
	}
}

func jobDetail(job *Job) string {
	d := "job " + job.ID
	if id := job.Meta[MetaServerID]; id != "" {
		d += " server " + id
	}
	if job.Attempt > 1 {
		d += " attempt " + strconv.Itoa(job.Attempt)
	}
	return d
}
