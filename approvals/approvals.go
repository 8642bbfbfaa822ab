// Package approvals keeps the bot's shared state in Redis: approval tickets
// (submit, vote, quorum, expiry, cancel), the work queue that feeds the
// executor, delayed jobs, idempotency keys, cooldowns and rate limits, and
// the audit log.
//
// Every decision is one Lua script, so that any number of bot replicas can
// share one Redis and a destructive action runs only after someone other
// than the requester approved it, and at most once. Nothing is kept in the
// process: a restart loses nothing.
//
// # Keys
//
// Every key starts with KeyPrefix(Options.Prefix): the prefix (default
// "bytebot:") made a hash tag, so several bots can share a Redis and all of
// one bot's keys hash to one Redis Cluster slot. With the default prefix:
//
//	{bytebot}:ticket:<id>      hash   a ticket; Redis TTL: its TTL plus TicketRetention
//	{bytebot}:pending          zset   IDs of pending tickets, scored by expiry (ms)
//	{bytebot}:queue            stream the work queue, consumer group "executors"
//	{bytebot}:job:<id>         hash   a job's state, stream entry, outcome (and attempt, once reclaimed); TTL JobRetention
//	{bytebot}:sched            zset   keys of delayed jobs, scored by when they are due (ms)
//	{bytebot}:sched:jobs       hash   key -> the delayed job (JSON list of stream fields, its ID first)
//	{bytebot}:audit            stream the audit log, capped at about AuditMax entries
//	{bytebot}:once:<key>       string Once claims
//	{bytebot}:repeat:<key>     string EnqueueOnce: the job last queued under a repeat key; TTL its window, freed when that job fails
//	{bytebot}:lock:<key>       string Lock tokens
//	{bytebot}:cooldown:<key>   string Cooldown: when the cooldown ends (ms)
//	{bytebot}:rate:<key>       zset   RateLimit: one member per recorded event, scored by time
//	{bytebot}:distinct:<key>   zset   DistinctLimit: one member per distinct member, scored by last time
//	{bytebot}:purges           zset   IDs of tickets with a staged purge, scored by when it is due (ms); staged.go
//	{bytebot}:undelete:<id>    hash   a soft delete's Undelete button; TTL JobRetention; staged.go
//
// Every key a script touches is passed in KEYS, and every key is built by
// Store.key. A script or pipeline touches several keys at once, among them
// the shared pending set, queue and audit log, so per-ticket hash tags
// would not help: one tag per bot keeps each script in one slot on Redis
// Cluster. (A bot's state is small; Cluster then gives failover and room
// for other tenants, not a spread of one bot's load.)
//
// Times come from Options.Now and are passed to the scripts (Redis's TIME is
// never used), so tests control expiry. Redis TTLs, which only reclaim
// memory, are relative and run on Redis's clock.
package approvals

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultPrefix   = "bytebot:"
	DefaultLease    = 2 * time.Minute
	DefaultAuditMax = 10000
	DefaultTTL      = 15 * time.Minute

	DefaultReplicaTimeout = 500 * time.Millisecond
)

// How long Redis keeps decided tickets and finished jobs, for cards, the
// executor and people looking back.
const (
	TicketRetention = 7 * 24 * time.Hour
	JobRetention    = 7 * 24 * time.Hour
)

// group is the consumer group of the work queue, and released the
// consumer that Release hands jobs to.
const (
	group    = "executors"
	released = "released"
)

// Errors of votes and cancels. They are meant for errors.Is.
var (
	ErrNotFound     = errors.New("approvals: ticket not found")
	ErrExpired      = errors.New("approvals: ticket expired")
	ErrSelfApproval = errors.New("approvals: the requester cannot vote on their own ticket")
	ErrNotApprover  = errors.New("approvals: not an approver")
	ErrDecided      = errors.New("approvals: ticket already decided")
	ErrNotRequester = errors.New("approvals: only the requester can cancel a ticket")
	// ErrWrongChannel means a vote came from a channel other than the
	// ticket's (VoteIn).
	ErrWrongChannel = errors.New("approvals: vote from another channel than the ticket's")
	// ErrLeaseLost means the job is no longer held by this consumer: its
	// lease ran out and another worker reclaimed it, or it was finished.
	ErrLeaseLost = errors.New("approvals: job lease lost")
)

// Options configure a Store.
type Options struct {
	// Prefix starts every key; default "bytebot:".
	Prefix string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Lease is how long a claimed job may go without a Heartbeat before
	// another worker reclaims it; default 2m.
	Lease time.Duration
	// AuditMax caps the audit log (approximately, XADD MAXLEN ~); default 10000.
	AuditMax int64
	// WaitReplicas is how many replicas a write that decides something (a
	// ticket opened, a vote, a job queued, started or finished) waits for, in the same round
	// trip (WAIT), before it is acknowledged; 0 waits for none. With
	// Sentinel it is 1 (redisconn.Kind.WaitReplicas), so that a failover
	// does not lose an acknowledged approval.
	WaitReplicas int
	// ReplicaTimeout bounds that wait; default 500ms. A write no replica
	// confirmed in time stands (it is on the master) and is counted by
	// Unreplicated.
	ReplicaTimeout time.Duration
}

// A Store is the bot's state in Redis. It is safe for concurrent use, and
// any number of Stores (in any number of processes) may share one Redis
// and prefix.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string
	now      func() time.Time
	lease    time.Duration
	auditMax int64
	sc       scripts
	// waitReplicas and replicaTimeout are Options.WaitReplicas and
	// ReplicaTimeout; unreplicated counts the writes they did not cover.
	waitReplicas   int
	replicaTimeout time.Duration
	unreplicated   atomic.Int64
	// legacy is Options.Prefix: keys were named under it before the hash
	// tag (MoveLegacyKeys).
	legacy string
	// sweptAt is when (time.Now, in ns) a Claim last found no delivery to
	// reclaim; 0 makes the next Claim look at once.
	sweptAt atomic.Int64
}

// New returns a Store on rdb. It does not contact Redis; call Load to check
// the connection and preload the scripts.
func New(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{
		rdb:      rdb,
		prefix:   opts.Prefix,
		now:      opts.Now,
		lease:    opts.Lease,
		auditMax: opts.AuditMax,
		sc:       newScripts(),

		waitReplicas:   opts.WaitReplicas,
		replicaTimeout: opts.ReplicaTimeout,
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	s.legacy = s.prefix
	s.prefix = KeyPrefix(s.prefix)
	if _, ok := rdb.(*redis.ClusterClient); ok {
		// WAIT has no key to route it by on Cluster.
		s.waitReplicas = 0
	}
	if s.replicaTimeout <= 0 {
		s.replicaTimeout = DefaultReplicaTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lease <= 0 {
		s.lease = DefaultLease
	}
	if s.auditMax <= 0 {
		s.auditMax = DefaultAuditMax
	}
	return s
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("approvals: ping: %w", err)
	}
	return nil
}

// Load loads the Lua scripts into Redis and creates the work queue's
// consumer group. It is optional (scripts are sent on first use and the
// group is created when missing) but makes every later script call a
// single EVALSHA; call it at startup.
func (s *Store) Load(ctx context.Context) error {
	for _, sc := range s.sc.all() {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("approvals: loading scripts: %w", err)
		}
	}
	return s.ensureGroup(ctx)
}

func (s *Store) ensureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.key("queue"), group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("approvals: creating consumer group: %w", err)
	}
	return nil
}

func isNoGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOGROUP")
}

// key is the one function that names keys: every key of the Store is
// KeyPrefix(Options.Prefix) followed by parts, so all of them share the
// prefix's hash tag.
func (s *Store) key(parts ...string) string {
	return s.prefix + strings.Join(parts, ":")
}

// KeyPrefix is how the keys of a Store with Options.Prefix p start: p made
// a Redis Cluster hash tag, so that all of its keys hash to one slot and
// every script, which touches several of them, runs on Cluster.
// "bytebot:" becomes "{bytebot}:" and "team-a" "{team-a}"; a p that already
// holds a hash tag ("{bytebot}:", "app:{x}:") is kept as it is. Distinct
// prefixes stay distinct namespaces.
func KeyPrefix(p string) string {
	if i := strings.IndexByte(p, '{'); i >= 0 {
		if j := strings.IndexByte(p[i+1:], '}'); j > 0 {
			return p
		}
	}
	if len(p) > 1 && strings.HasSuffix(p, ":") {
		return "{" + p[:len(p)-1] + "}:"
	}
	return "{" + p + "}"
}

// decide runs script for a write that decides something (a ticket opened,
// a vote, a job queued (or delayed, promoted, unscheduled), started or
// finished: what a failover must not
// forget, so that an approval stands and an action runs and is reported
// once). With Options.WaitReplicas it sends WAIT in the
// same pipeline, so on the same connection and in the same round trip: the
// reply comes once that many replicas have the write, or after
// ReplicaTimeout. Without it, it is script.Run: no extra round trip.
func (s *Store) decide(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if s.waitReplicas <= 0 {
		return script.Run(ctx, s.rdb, keys, args...)
	}
	for try := 0; ; try++ {
		var cmd *redis.Cmd
		var wait *redis.Cmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			cmd = script.EvalSha(ctx, p, keys, args...)
			wait = p.Do(ctx, "wait", s.waitReplicas, durMS(s.replicaTimeout))
			return nil
		})
		if try == 0 && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			// A promoted replica may not have the script: nothing ran.
			if lerr := script.Load(ctx, s.rdb).Err(); lerr != nil {
				cmd.SetErr(lerr)
				return cmd
			}
			continue
		}
		if n, _ := wait.Int64(); err == nil && n < int64(s.waitReplicas) {
			s.unreplicated.Add(1)
		}
		return cmd
	}
}

// Unreplicated counts the deciding writes that no replica confirmed
// within ReplicaTimeout (see Options.WaitReplicas): those a failover at
// that moment could lose.
func (s *Store) Unreplicated() int64 { return s.unreplicated.Load() }

// newID returns an unguessable ID of 10 lowercase base32 characters
// (50 bits), short enough to type.
func newID() string {
	return strings.ToLower(rand.Text()[:10])
}

// normID normalises an ID someone typed.
func normID(id string) string {
	return strings.ToLower(strings.TrimSpace(id))
}

// validID reports whether id (normalised) could be a ticket ID; others are
// not looked up.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func durMS(d time.Duration) int64 {
	n := d.Milliseconds()
	if n < 1 {
		n = 1
	}
	return n
}

func fromMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// pairs turns a flat reply of field, value, ... into a map.
func pairs(v any) map[string]string {
	a, _ := v.([]any)
	m := make(map[string]string, len(a)/2)
	for i := 0; i+1 < len(a); i += 2 {
		k, _ := a[i].(string)
		m[k] = str(a[i+1])
	}
	return m
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func num(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}
