// Package bot is bytebot's core: commands and votes in (Command, Vote,
// Click, Submit), the executor that takes work from the approvals queue,
// runs it against Bytemark under per-server locks and posts the result, and
// the snapshots approvers are shown. It is transport-independent: the edges
// that meet the outside world are subpackages that import it and that it
// never imports (bot/slackapp: Slack over HTTP and Socket Mode;
// bot/monitor: the monitoring webhooks; bot/console: a terminal). It says
// things in Slack's terms through the leaf package bot/slackui.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

// Cloud is the part of the Bytemark API that the bot uses: what the actions
// need, plus Ping for /readyz and the reads behind approval cards.
// *bytemark.Client satisfies it.
type Cloud interface {
	commands.Cloud
	Ping(ctx context.Context) error
	GetServer(ctx context.Context, name string) (*bytemark.Server, error)
	ResolveName(ctx context.Context, s string) (bytemark.Name, error)
	// Identify resolves any name of a server (numeric IDs in any part, its
	// full hostname) to its ID and canonical name; the guards key on the ID.
	Identify(ctx context.Context, name string) (bytemark.Identity, error)
	IdentifyAll(ctx context.Context, names []string) (map[string]bytemark.Identity, map[string]error)
	// ListAllServers lists a group's servers, deleted ones too: what a
	// target of many servers (group:…, web*) resolves against.
	ListAllServers(ctx context.Context, group string) ([]bytemark.Server, error)
	// The destroying calls, naming the server by the ID approvers saw.
	DeleteServerByID(ctx context.Context, id bytemark.Identity) error
	PurgeServerByID(ctx context.Context, id bytemark.Identity) error
	UndeleteServerByID(ctx context.Context, id bytemark.Identity) error
	PurgeDiscByID(ctx context.Context, id bytemark.Identity, label string) error
	ReimageServerByID(ctx context.Context, id bytemark.Identity, img bytemark.ImageInstall) error
}

// Config is the bot's behaviour. Zero durations and counts take the
// documented defaults.
type Config struct {
	// SigningSecret verifies every Slack HTTP request (SLACK_SIGNING_SECRET).
	// With an empty secret every Slack request is refused.
	SigningSecret string
	// AllowedUsers and AllowedChannels, when not empty, limit who may use
	// any command and where. Users may include user groups (S…).
	AllowedUsers, AllowedChannels []string
	// Approvers may approve or deny tickets: user IDs (U…) and user
	// groups (S…).
	Approvers []string
	// ApprovalsRequired is how many distinct approvers must approve
	// (default 1). The requester never counts.
	ApprovalsRequired int
	// ApprovalTTL is how long a ticket waits for its approvals (default 15m).
	ApprovalTTL time.Duration
	// Policy says which actions need approval.
	Policy commands.Policy
	// Rules is the policy that decides every request (POLICY_FILE). Nil:
	// the fields above (AllowedUsers, AllowedChannels, Approvers,
	// ApprovalsRequired, ApprovalTTL, Policy, Protected) make it, with
	// policy.FromEnv, as they always have. SetPolicy replaces it.
	Rules *policy.Policy
	// Channel is where actions without a channel of their own (webhooks)
	// are reported (SLACK_CHANNEL).
	Channel string
	// Workers is the number of executor workers (default 4).
	Workers int
	// JobTimeout bounds one job (default 6m, above the longest action
	// timeout of package commands).
	JobTimeout time.Duration
	// RequestTimeout bounds each Redis or Slack call made while a Slack
	// request waits for its answer (default 1.5s).
	RequestTimeout time.Duration
	// GroupCacheTTL is how long user-group members are cached (default 5m).
	GroupCacheTTL time.Duration
	// GroupMaxAge is how old user-group members may be and still count
	// when Slack can't be asked for them (USERGROUP_MAX_AGE, default 1h).
	GroupMaxAge time.Duration
	// Heartbeat is how often a running job's lease is extended (default 20s;
	// keep it well under the store's lease).
	Heartbeat time.Duration
	// SweepInterval is how often expired tickets and delayed jobs are
	// looked for (default 1s).
	SweepInterval time.Duration
	// MaxBodyBytes caps the size of a Slack request body (default 64 KiB).
	MaxBodyBytes int64
	// ReadyEvery is how long /readyz answers from its last Bytemark check
	// before checking again (default 10s), so that asking /readyz often
	// can't load the Bytemark account.
	ReadyEvery time.Duration
	// PurgeGrace is how long an approved purge of a server that is not yet
	// deleted waits, the server soft-deleted, for someone to press Undo
	// before it runs (PURGE_GRACE, default 30m); PurgeAtOnce purges at
	// once (PURGE_GRACE=0s). See staged.go.
	PurgeGrace time.Duration
	// Protected are globs over canonical server names (PROTECTED_SERVERS)
	// of servers that are never deleted, purged or reimaged, whoever asks.
	Protected []string
	// BlastRadius is how many servers a power action on a target of many
	// servers (group:…, a glob) may reach without approval (BLAST_RADIUS,
	// default 3; fanout.go).
	BlastRadius int
	// Inline runs the work that follows a request's answer (card updates,
	// replies) at once, in the caller's goroutine, rather than in the
	// background: for the console, whose transcript must be deterministic.
	Inline bool
	// ReadsHere is how many of people's reads this process runs itself
	// at once, outside the queue (reads.go; default 16, negative: none).
	ReadsHere int
	// TeamID is the Slack workspace (T…) whose requests are served
	// (SLACK_TEAM_ID); requests from any other are refused. Empty: learned
	// by LearnTeam, or, without it, not checked (team.go).
	TeamID string
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.ApprovalsRequired < 1 {
		c.ApprovalsRequired = DefaultApprovalsRequired
	}
	if c.Workers < 1 {
		c.Workers = DefaultWorkers
	}
	if c.BlastRadius < 1 {
		c.BlastRadius = 3
	}
	def(&c.ApprovalTTL, DefaultApprovalTTL)
	def(&c.JobTimeout, 6*time.Minute)
	def(&c.RequestTimeout, 1500*time.Millisecond)
	def(&c.GroupCacheTTL, 5*time.Minute)
	def(&c.GroupMaxAge, DefaultGroupMaxAge)
	def(&c.Heartbeat, 20*time.Second)
	def(&c.SweepInterval, time.Second)
	def(&c.ReadyEvery, 10*time.Second)
	if c.PurgeGrace == 0 {
		c.PurgeGrace = DefaultPurgeGrace
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	return c
}

// Server is the bot. Create it with New; its exported fields are its
// dependencies and must not change once it serves (an edge's handler, Run
// or Drain).
type Server struct {
	Config Config
	Cloud  Cloud
	Store  *approvals.Store
	Poster Poster
	Logger *slog.Logger
	// Now returns the current time; it defaults to time.Now. Tests may
	// replace it.
	Now func() time.Time

	api     Cloud                         // Cloud, timed into the API latency histogram: what the bot calls
	pol     atomic.Pointer[policy.Policy] // the policy in force (policy.go)
	metrics *metrics
	groups  *groupCache
	locks   keyedMutex // one action per server in this process
	ready   readyCache // the last Bytemark check of /readyz
	cards   keyedMutex // one card update per ticket at a time
	notes   finalNotes // the executor's last word on each card
	team    teamGate   // the Slack workspace requests must come from
	wg      sync.WaitGroup
	// halted is done when Shutdown runs out of time: running jobs and
	// their reports stop, and the jobs are handed back.
	halted  context.Context
	halt    context.CancelFunc
	closeMu sync.Mutex // orders Run's start before Close's wait
	closing bool
	// async runs f after the current request has been answered (at once
	// with Config.Inline).
	async    func(f func())
	instance string // names this process's queue consumers
	// claimBlock is how long a worker waits for a job before looking
	// again, which bounds how long Run takes to notice it should stop.
	claimBlock time.Duration
	// readSlots are the reads running in this process (reads.go).
	readsOnce    sync.Once
	readSlots    chan struct{}
	readAdmitted chan struct{}
}

// New returns a Server with its defaults filled in.
func New(cfg Config, cloud Cloud, store *approvals.Store, poster Poster, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		Config:   cfg.withDefaults(),
		Cloud:    cloud,
		Store:    store,
		Poster:   poster,
		Logger:   logger,
		Now:      time.Now,
		metrics:  newMetrics(),
		instance: newID(4),

		claimBlock: time.Second,
	}
	s.halted, s.halt = context.WithCancel(context.Background())
	if s.Config.Rules != nil {
		s.SetPolicy(s.Config.Rules)
	} else {
		s.SetPolicy(envPolicy(s.Config, logger))
	}
	s.team.id = s.Config.TeamID
	s.api = &timedCloud{Cloud: cloud, observe: s.observeAPI}
	if c, ok := poster.(prometheus.Collector); ok {
		if err := s.metrics.registry.Register(c); err != nil {
			logger.Warn("bot: poster metrics not registered", "err", err)
		}
	}
	s.groups = newGroupCache(s.Config.GroupCacheTTL, s.Config.GroupMaxAge, poster)
	s.async = func(f func()) {
		if s.Config.Inline {
			f()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			f()
		}()
	}
	return s
}

// API is the Bytemark API as the bot calls it: Cloud, with each call
// timed into the API latency metrics. Edges that read servers (the
// monitoring webhooks identify the servers alerts name) call it too.
func (s *Server) API() Cloud { return s.api }

// Metrics is the registry that MetricsHandler serves; edges register
// their own metrics in it.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.registry }

// MetricsHandler serves GET /metrics (Prometheus), for the metrics
// listener (METRICS_ADDR), which is not the public one.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	return mux
}

// Close waits for the work the Server started in the background (card
// updates, replies, and the executor once Run's context is done).
func (s *Server) Close() { s.Shutdown(context.Background()) }

// Shutdown is Close within ctx: when ctx is done before the work is, the
// jobs still running are interrupted (their contexts cancelled) and handed
// back to the queue, where another process takes them up as retries; then
// it waits for them to stop. main bounds it with SHUTDOWN_TIMEOUT.
func (s *Server) Shutdown(ctx context.Context) {
	s.closeMu.Lock()
	s.closing = true
	s.closeMu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Logger.Warn("bot: out of time to stop; interrupting running jobs")
		s.halt()
		<-done
	}
	s.halt()
}

// haltable makes ctx (and cancel) end also when Shutdown runs out of time.
func (s *Server) haltable(ctx context.Context, cancel context.CancelFunc) (context.Context, context.CancelFunc) {
	stop := context.AfterFunc(s.halted, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// begin counts a Run that Close must wait for. Run starts in a goroutine of
// its own, so its count could otherwise race with Close's wait when a
// process stops as it starts; once Close has begun, begin reports false
// and Run does nothing.
func (s *Server) begin() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// quick runs f, a Redis call made while Slack waits for an answer, within
// Config.RequestTimeout (and ctx). The Store's Redis client is built with
// ContextTimeoutEnabled (internal/redisconn.Open, as main and the tests
// build it), so a hung connection ends at the deadline, not at the
// client's own read timeout.
func (s *Server) quick(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.Config.RequestTimeout)
	defer cancel()
	return f(ctx)
}

// background returns a context for work that outlives the request that
// started it: it keeps ctx's values, not its cancellation.
func background(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// newID returns n random bytes in hex.
func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// keyedMutex is a set of mutexes, one per key, created on demand and
// dropped when unused.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedEntry)
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
