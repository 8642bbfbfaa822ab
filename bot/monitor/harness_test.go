package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

const (
	testSecret       = "test-signing-secret"
	testWebhookToken = "test-webhook-token"
	testHMACSecret   = "test-grafana-hmac-secret"
	chanOps          = "COPS00001"
	userAsker        = "UASKER001"
	userAppr1        = "UAPPROVE1"
	userAppr2        = "UAPPROVE2"
	testTeam         = "T0001"
	pathAM           = monitor.PathAlertmanager
	pathGrafana      = monitor.PathGrafana
)

// harness is the bot wired as main wires it, to real parts: the Slack
// transport's handler with the monitoring webhooks' routes, the hold loop
// and the executor, a real Redis, the bytemarktest fake behind a real
// bytemark.Client, and the Slack Web API stand-in.
type harness struct {
	t     testing.TB
	s     *bot.Server
	hooks *monitor.Hooks
	h     http.Handler
	slack *slacktest.API
	fake  *bytemarktest.Server
	cloud *bytemark.Client
	store *approvals.Store
	parts parts
	stop  func() // stops the bot (and waits for it); also at cleanup
}

type harnessOption func(*bot.Config, *monitor.Config, *harnessOpts)

type harnessOpts struct {
	noRun    bool
	cloud    func(bot.Cloud) bot.Cloud // wraps the Bytemark client, when set
	rdb      redis.UniversalClient     // the Store's Redis client, when set
	auditMax int64                     // the Store's AuditMax, when set
}

// withHooks configures the webhooks: mode, a reset reboot (one API call,
// easy to count) and the given changes.
func withHooks(mode string, change func(*monitor.Config)) harnessOption {
	return func(_ *bot.Config, c *monitor.Config, _ *harnessOpts) {
		*c = monitor.Config{WebhookToken: testWebhookToken, Mode: mode, Method: commands.RebootReset, HoldEvery: 20 * time.Millisecond}
		if change != nil {
			change(c)
		}
	}
}

func withConfig(f func(*bot.Config)) harnessOption {
	return func(c *bot.Config, _ *monitor.Config, _ *harnessOpts) { f(c) }
}

// withPolicy sets APPROVAL_ACTIONS.
func withPolicy(t *testing.T, csv string) harnessOption {
	t.Helper()
	p, err := commands.ParsePolicy(csv)
	if err != nil {
		t.Fatal(err)
	}
	return withConfig(func(c *bot.Config) { c.Policy = p })
}

// withCloud puts wrap around the Bytemark client the bot uses.
func withCloud(wrap func(bot.Cloud) bot.Cloud) harnessOption {
	return func(_ *bot.Config, _ *monitor.Config, o *harnessOpts) { o.cloud = wrap }
}

// withRedis gives the Store rdb instead of a plain client of the test Redis.
func withRedis(rdb redis.UniversalClient) harnessOption {
	return func(_ *bot.Config, _ *monitor.Config, o *harnessOpts) { o.rdb = rdb }
}

// withAuditMax caps the Store's audit streams at about n entries each.
func withAuditMax(n int64) harnessOption {
	return func(_ *bot.Config, _ *monitor.Config, o *harnessOpts) { o.auditMax = n }
}

// withoutExecutor leaves the executor and the hold loop stopped, so queued
// jobs and holds stay where they are.
func withoutExecutor() harnessOption {
	return func(_ *bot.Config, _ *monitor.Config, o *harnessOpts) { o.noRun = true }
}

// hookHarness is the harness with webhooks configured (withHooks).
func hookHarness(t *testing.T, mode string, change func(*monitor.Config), opts ...harnessOption) *harness {
	t.Helper()
	return newHarness(t, append([]harnessOption{withHooks(mode, change)}, opts...)...)
}

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	cloud, err := bytemark.NewClient(&http.Client{Timeout: 30 * time.Second}, bytemark.Options{
		APIURL:       fake.URL(),
		AuthURL:      fake.URL(),
		APIKey:       bytemarktest.APIKey,
		Account:      "acme",
		PollInterval: 10 * time.Millisecond,
		PowerTimeout: 10 * time.Second,
		Logger:       logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	api := slacktest.New(t, slacktest.Options{TeamID: testTeam})
	policy, err := commands.ParsePolicy("delete")
	if err != nil {
		t.Fatal(err)
	}
	cfg := bot.Config{
		SigningSecret:     testSecret,
		TeamID:            testTeam,
		Approvers:         []string{userAppr1, userAppr2},
		ApprovalsRequired: 1,
		ApprovalTTL:       time.Minute,
		Policy:            policy,
		Channel:           chanOps,
		Workers:           4,
		SweepInterval:     50 * time.Millisecond,
		PurgeGrace:        bot.PurgeAtOnce, // the purges here are approved to see the audit; staging is bot's to test
		// Generous, so that a busy machine makes no test flaky.
		RequestTimeout: 5 * time.Second,
	}
	var mcfg monitor.Config
	var o harnessOpts
	for _, opt := range opts {
		opt(&cfg, &mcfg, &o)
	}
	var rdb redis.UniversalClient = redistest.Client(t)
	if o.rdb != nil {
		rdb = o.rdb
	}
	var botCloud bot.Cloud = cloud
	if o.cloud != nil {
		botCloud = o.cloud(cloud)
	}
	p := parts{cfg: cfg, mcfg: mcfg, opts: o, prefix: redistest.Prefix(t), rdb: rdb, cloud: botCloud, logger: logger}
	return p.start(t, api, fake, cloud)
}

// parts are what a harness's bot is built from, for replica.
type parts struct {
	cfg    bot.Config
	mcfg   monitor.Config
	opts   harnessOpts
	prefix string
	rdb    redis.UniversalClient
	cloud  bot.Cloud
	logger *slog.Logger
}

// start builds the bot as main does and runs it unless opts.noRun.
func (p parts) start(t testing.TB, api *slacktest.API, fake *bytemarktest.Server, client *bytemark.Client) *harness {
	store := approvals.New(p.rdb, approvals.Options{Prefix: p.prefix, AuditMax: p.opts.auditMax})
	s := bot.New(p.cfg, p.cloud, store, slackapp.NewPoster(api.Client(), p.logger), p.logger)
	hooks := monitor.New(s, p.mcfg)
	h := &harness{t: t, s: s, hooks: hooks, h: slackapp.New(s).Handler(hooks.Register), slack: api, fake: fake, cloud: client, store: store, parts: p}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if p.opts.noRun {
		close(done)
	} else {
		go func() {
			defer close(done)
			var wg sync.WaitGroup
			wg.Go(func() { hooks.Run(ctx) })
			if err := s.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
			wg.Wait()
		}()
	}
	h.stop = func() {
		cancel()
		<-done
		s.Close()
	}
	t.Cleanup(h.stop)
	return h
}

// replica is another bot process on h's Redis keys, Bytemark and Slack,
// configured as h: a second replica, or h's bot after a restart. It runs
// its executor and hold loop unless noRun.
func (h *harness) replica(noRun bool) *harness {
	h.t.Helper()
	p := h.parts
	p.opts.noRun = noRun
	return p.start(h.t, h.slack, h.fake, h.cloud)
}

// signer signs requests as Slack does with the app's signing secret.
var signer = slacktest.Signer{Secret: testSecret}

// slashReply is the JSON body of a slash command's answer.
type slashReply struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
}

// mustSlash sends a signed slash command that must get a 200.
func (h *harness) mustSlash(user, channel, text string) slashReply {
	h.t.Helper()
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, signer.Request("/slack/commands", slacktest.SlashBody(user, channel, text)))
	var body slashReply
	if w.Code != http.StatusOK {
		h.t.Fatalf("slash %q = %d; want 200", text, w.Code)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		h.t.Fatalf("slash %q: body is not JSON: %v: %q", text, err, w.Body.String())
	}
	return body
}

// click clicks a card's button and returns the status code.
func (h *harness) click(user, channel string, c slacktest.Card, action string) int {
	h.t.Helper()
	k := h.slack.Click(user, channel, c, action)
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, signer.Request("/slack/interactions", k.Body()))
	if w.Code != http.StatusOK || action != slackui.ActionApprove {
		return w.Code
	}
	// An Approve of an irreversible action opens the type-the-name modal:
	// answer it as an approver would, with the server's short name.
	v, ok := h.slack.ViewOpenedBy(k.TriggerID)
	if !ok {
		return w.Code
	}
	tk, err := h.store.Get(context.Background(), c.Ticket)
	if err != nil {
		h.t.Fatalf("reading ticket %s: %v", c.Ticket, err)
	}
	short, _, _ := strings.Cut(tk.Server, ".")
	sub := h.slack.Submit(user, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: short}})
	w = httptest.NewRecorder()
	h.h.ServeHTTP(w, signer.Request("/slack/interactions", sub.Body()))
	return w.Code
}

// waitCard waits for the n-th (1-based) approval card, and for its ticket
// to record where the card is.
func (h *harness) waitCard(n int) slacktest.Card {
	h.t.Helper()
	c := h.slack.WaitCard(h.t, n)
	h.waitFor("the ticket to record its card", func() bool {
		tk, err := h.store.Get(context.Background(), c.Ticket)
		return err == nil && tk.MessageTS == c.TS
	})
	return c
}

// waitFor waits until cond holds, or fails the test with the Slack calls
// so far.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	h.slack.Wait(h.t, what, cond)
}

// waitPost waits for a chat.postMessage containing every substring.
func (h *harness) waitPost(substrings ...string) slacktest.Call {
	h.t.Helper()
	return h.slack.WaitPost(h.t, substrings...)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writes counts the requests that could change something.
func (h *harness) writes() int {
	n := 0
	for _, r := range h.fake.Requests() {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/session") {
			n++
		}
	}
	return n
}

// hookAnswerOf decodes a webhook answer.
func hookAnswerOf(t testing.TB, w *httptest.ResponseRecorder) monitor.Answer {
	t.Helper()
	var a monitor.Answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("webhook answer is not JSON: %v: %q", err, w.Body.String())
	}
	return a
}

// post sends a webhook with the bearer token.
func (h *harness) post(path string, body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, slacktest.HookRequest(path, testWebhookToken, body))
	return w
}

// mustPost sends a webhook that must be accepted and returns its answer.
func (h *harness) mustPost(path string, body []byte) monitor.Answer {
	h.t.Helper()
	w := h.post(path, body)
	if w.Code != http.StatusOK {
		h.t.Fatalf("POST %s = %d %s; want 200", path, w.Code, w.Body.String())
	}
	return hookAnswerOf(h.t, w)
}

// firing is a firing InstanceDown alert for server, named by the
// bytemark_server label (REBOOT_LABEL's default), started at start.
func firing(server string, start time.Time) slacktest.Alert {
	return slacktest.Firing("bytemark_server", server, start)
}

// amDelivery is an Alertmanager delivery of alerts.
func amDelivery(alerts ...slacktest.Alert) []byte { return slacktest.Alertmanager(alerts...).JSON() }

// resets counts the reset signals the fake received for server.
func (h *harness) resets(server string) int {
	n := 0
	for _, r := range h.fake.Requests() {
		if r.Method == http.MethodPost && strings.Contains(r.Path, "/virtual_machines/"+server+"/") &&
			strings.HasSuffix(r.Path, "/signal") && strings.Contains(r.Body, "reset") {
			n++
		}
	}
	return n
}

// totalResets counts every reset signal.
func (h *harness) totalResets() int {
	n := 0
	for _, r := range h.fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/signal") && strings.Contains(r.Body, "reset") {
			n++
		}
	}
	return n
}

// auditOutcomes returns the outcomes of the audit entries by actor, oldest first.
func (h *harness) auditOutcomes(actor string) []string {
	h.t.Helper()
	es, err := h.store.AuditLog(context.Background(), "", 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Actor == actor {
			out = append(out, es[i].Outcome)
		}
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// waitAudit waits until the background work of the webhook (summary, audit)
// has been done: the audit log has want entries with outcome by actor.
func (h *harness) waitAudit(actor, outcome string, want int) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d %q audit entries", want, outcome), func() bool {
		return count(h.auditOutcomes(actor), outcome) >= want
	})
}
