// Package bottest builds the bot in the test process exactly as main
// builds it, on real parts: the Slack transport's handler with the
// monitoring webhooks' routes, the executor and the hold loop, a real
// Redis (internal/redistest), the bytemarktest fake behind a real
// bytemark.Client, and the Slack stand-in (internal/slacktest). It offers
// what every such test does with it: send signed slash commands, clicks
// and view submissions, answer the type-the-name modal, wait for cards,
// posts and audit entries, and count what reached the fake.
//
// The tests of bot (package bot_test), of bot/monitor and
// internal/reliability's in-process harness use it; a harness written
// anywhere else is a copy to remove. Package bot's internal tests cannot
// import it (it imports bot).
package bottest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// The secrets the bot is built with, and the Slack IDs of the tests.
const (
	SigningSecret = "test-signing-secret"
	WebhookToken  = "test-webhook-token" // WithHooks's MONITOR_WEBHOOK_TOKEN
	Team          = slacktest.DefaultTeam

	ChanOps   = "COPS00001" // the bot's channel (SLACK_CHANNEL)
	ChanOther = "COTHER001"
	UserAsker = "UASKER001"
	UserAppr1 = "UAPPROVE1" // an approver
	UserAppr2 = "UAPPROVE2" // an approver
	UserOther = "UOTHER001"
)

// Signer signs requests as Slack does with SigningSecret.
var Signer = slacktest.Signer{Secret: SigningSecret}

// Bot is the bot built as main builds it, and the parts it runs on.
type Bot struct {
	T       testing.TB
	Server  *bot.Server
	Hooks   *monitor.Hooks
	Handler http.Handler // the public listener's: Slack routes and the webhooks'
	Slack   *slacktest.API
	Fake    *bytemarktest.Server
	Cloud   *bytemark.Client // the real client of Fake (Setup.Cloud may wrap what the bot uses)
	Store   *approvals.Store
	// Stop stops the bot and waits for it; cleanup does it too.
	Stop func()

	setup  Setup
	prefix string
	rdb    redis.UniversalClient
	cloud  bot.Cloud
	logger *slog.Logger
}

// Setup is what New builds the bot from; an Option changes it.
type Setup struct {
	Config  bot.Config
	Monitor monitor.Config // the zero Config refuses every delivery, as main's default
	NoRun   bool           // leaves the executor and the hold loop stopped

	Cloud    func(bot.Cloud) bot.Cloud // wraps the Bytemark client the bot uses, when set
	Client   func(*bytemark.Options)   // changes the Bytemark client's options, when set
	Timeout  time.Duration             // the Bytemark client's HTTP timeout (30s, as main's)
	Redis    redis.UniversalClient     // the Store's Redis client (a plain one of the test Redis)
	AuditMax int64                     // the Store's AuditMax, when set
	Log      io.Writer                 // also gets the bot's log, as JSON lines, when set
	Now      func() time.Time          // the bot's clock, when set
	Slack    *slacktest.API            // the Slack stand-in (a new one with Team)
	Fake     *bytemarktest.Server      // the fake Bytemark (a new one), served at FakeURL
	FakeURL  string                    // Fake's URL, when it is served by the test
	// BeforeRun are called with the built bot, in order, before it runs.
	BeforeRun []func(*Bot)
}

// An Option changes the Setup before anything is built.
type Option func(*Setup)

// WithConfig changes the bot's configuration.
func WithConfig(f func(*bot.Config)) Option { return func(s *Setup) { f(&s.Config) } }

// WithPolicy sets APPROVAL_ACTIONS.
func WithPolicy(t testing.TB, csv string) Option {
	t.Helper()
	p, err := commands.ParsePolicy(csv)
	if err != nil {
		t.Fatal(err)
	}
	return WithConfig(func(c *bot.Config) { c.Policy = p })
}

// WithHooks configures the webhooks: WebhookToken, mode, a reset reboot
// (one API call, easy to count), a quick hold loop and the given changes.
func WithHooks(mode string, change func(*monitor.Config)) Option {
	return func(s *Setup) {
		s.Monitor = monitor.Config{WebhookToken: WebhookToken, Mode: mode, Method: commands.RebootReset, HoldEvery: 20 * time.Millisecond}
		if change != nil {
			change(&s.Monitor)
		}
	}
}

// WithCloud puts wrap around the Bytemark client the bot uses.
func WithCloud(wrap func(bot.Cloud) bot.Cloud) Option { return func(s *Setup) { s.Cloud = wrap } }

// WithRedis gives the Store rdb instead of a plain client of the test Redis.
func WithRedis(rdb redis.UniversalClient) Option { return func(s *Setup) { s.Redis = rdb } }

// WithAuditMax caps the Store's audit streams at about n entries each.
func WithAuditMax(n int64) Option { return func(s *Setup) { s.AuditMax = n } }

// WithoutExecutor leaves the executor and the hold loop stopped, so queued
// jobs and holds stay where they are.
func WithoutExecutor() Option { return func(s *Setup) { s.NoRun = true } }

// WithLog sends the bot's log to w too, as JSON lines (slog's), for tests
// that check what is logged and at which level.
func WithLog(w io.Writer) Option { return func(s *Setup) { s.Log = w } }

// WithNow gives the bot a clock of the test's own.
func WithNow(now func() time.Time) Option { return func(s *Setup) { s.Now = now } }

// BeforeRun has f called with the built bot before it runs (after the
// BeforeRun functions given before it).
func BeforeRun(f func(*Bot)) Option {
	return func(s *Setup) { s.BeforeRun = append(s.BeforeRun, f) }
}

// New builds the bot as main does and, unless WithoutExecutor, runs its
// executor and hold loop until the test ends.
func New(t testing.TB, opts ...Option) *Bot {
	t.Helper()
	policy, err := commands.ParsePolicy("delete")
	if err != nil {
		t.Fatal(err)
	}
	st := Setup{Config: bot.Config{
		SigningSecret:     SigningSecret,
		TeamID:            Team,
		Approvers:         []string{UserAppr1, UserAppr2},
		ApprovalsRequired: 1,
		ApprovalTTL:       time.Minute,
		Policy:            policy,
		Channel:           ChanOps,
		Workers:           4,
		SweepInterval:     50 * time.Millisecond,
		// Purges run at once unless a test stages them (bot/staged_test.go).
		PurgeGrace: bot.PurgeAtOnce,
		// Generous, so that a busy machine (a shared Redis under load) makes
		// no test flaky; bot's TestRedisHangs checks the short default's effect.
		RequestTimeout: 5 * time.Second,
	}, Timeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&st)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if st.Log != nil {
		logger = slog.New(slog.NewMultiHandler(logger.Handler(), slog.NewJSONHandler(st.Log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	if st.Fake == nil {
		st.Fake = bytemarktest.NewServer()
		t.Cleanup(st.Fake.Close)
		st.FakeURL = st.Fake.URL()
	}
	copts := bytemark.Options{
		APIURL:       st.FakeURL,
		AuthURL:      st.FakeURL,
		APIKey:       bytemarktest.APIKey,
		Account:      "acme",
		PollInterval: 10 * time.Millisecond,
		PowerTimeout: 10 * time.Second,
		Logger:       logger,
	}
	if st.Client != nil {
		st.Client(&copts)
	}
	client, err := bytemark.NewClient(&http.Client{Timeout: st.Timeout}, copts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Slack == nil {
		st.Slack = slacktest.New(t, slacktest.Options{TeamID: Team})
	}
	rdb := st.Redis
	if rdb == nil {
		rdb = redistest.Client(t)
	}
	var cloud bot.Cloud = client
	if st.Cloud != nil {
		cloud = st.Cloud(client)
	}
	b := &Bot{T: t, Slack: st.Slack, Fake: st.Fake, Cloud: client, setup: st, prefix: redistest.Prefix(t), rdb: rdb, cloud: cloud, logger: logger}
	b.start()
	return b
}

// start builds the bot on b's parts as main does (a Poster of the Slack
// client whose response_urls are the stand-in's, the Slack transport, the
// monitoring webhooks) and runs it unless b.setup.NoRun.
func (b *Bot) start() {
	st := b.setup
	b.Store = approvals.New(b.rdb, approvals.Options{Prefix: b.prefix, AuditMax: st.AuditMax})
	poster := slackapp.NewPoster(b.Slack.Client(), b.logger)
	poster.APIURL = b.Slack.URL() // the stand-in serves the response_urls too
	s := bot.New(st.Config, b.cloud, b.Store, poster, b.logger)
	if st.Now != nil {
		s.Now = st.Now
	}
	b.Server = s
	b.Hooks = monitor.New(s, st.Monitor)
	b.Handler = slackapp.New(s).Handler(b.Hooks.Register)
	for _, f := range st.BeforeRun {
		f(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s = b.Server // as BeforeRun left it
	if st.NoRun {
		close(done)
	} else {
		go func() {
			defer close(done)
			var wg sync.WaitGroup
			wg.Go(func() { b.Hooks.Run(ctx) })
			if err := s.Run(ctx); err != nil {
				b.T.Errorf("Run: %v", err)
			}
			wg.Wait()
		}()
	}
	var once sync.Once
	b.Stop = func() {
		once.Do(func() {
			cancel()
			<-done
			s.Close()
		})
	}
	b.T.Cleanup(b.Stop)
}

// Replica is another bot process on b's Redis keys, Bytemark and Slack,
// configured as b: a second replica, or b's bot after a restart. It runs
// its executor and hold loop unless noRun.
func (b *Bot) Replica(noRun bool) *Bot {
	b.T.Helper()
	r := &Bot{T: b.T, Slack: b.Slack, Fake: b.Fake, Cloud: b.Cloud, setup: b.setup, prefix: b.prefix, rdb: b.rdb, cloud: b.cloud, logger: b.logger}
	r.setup.NoRun = noRun
	r.start()
	return r
}

// ReadTestdata reads testdata/name of the test's package.
func ReadTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
