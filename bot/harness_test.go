package bot_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

const (
	testSecret = "test-signing-secret"
	chanOps    = "COPS00001"
	chanOther  = "COTHER001"
	userAsker  = "UASKER001"
	userAppr1  = "UAPPROVE1"
	userAppr2  = "UAPPROVE2"
	userOther  = "UOTHER001"
	// testTeam is the bot's workspace: the team_id of testdata's requests.
	testTeam = "T0001"
)

// harness is the bot wired to real parts: its HTTP handler, a real Redis,
// the bytemarktest fake behind a real bytemark.Client, and the Slack Web API
// stand-in.
type harness struct {
	t     testing.TB
	s     *bot.Server
	h     http.Handler
	slack *slacktest.API
	fake  *bytemarktest.Server
	cloud *bytemark.Client
	store *approvals.Store
}

type harnessOption func(*bot.Config, *harnessOpts)

type harnessOpts struct {
	noRun bool
	cloud func(bot.Cloud) bot.Cloud // wraps the Bytemark client, when set
	now   func() time.Time          // the bot's clock, when set
	rdb   redis.UniversalClient     // the Store's Redis client, when set
	logw  io.Writer                 // also gets the bot's log, as JSON, when set
}

// withLog sends the bot's log to w too, as JSON lines (slog's), for tests
// that check what is logged and at which level.
func withLog(w io.Writer) harnessOption {
	return func(_ *bot.Config, o *harnessOpts) { o.logw = w }
}

// withNow gives the bot a clock of the test's own.
func withNow(now func() time.Time) harnessOption {
	return func(_ *bot.Config, o *harnessOpts) { o.now = now }
}

// withCloud puts wrap around the Bytemark client the bot uses.
func withCloud(wrap func(bot.Cloud) bot.Cloud) harnessOption {
	return func(_ *bot.Config, o *harnessOpts) { o.cloud = wrap }
}

// withRedis gives the Store rdb instead of a plain client of the test Redis.
func withRedis(rdb redis.UniversalClient) harnessOption {
	return func(_ *bot.Config, o *harnessOpts) { o.rdb = rdb }
}

// withoutExecutor leaves the executor stopped, so queued jobs stay queued.
func withoutExecutor() harnessOption {
	return func(_ *bot.Config, o *harnessOpts) { o.noRun = true }
}

func withConfig(f func(*bot.Config)) harnessOption {
	return func(c *bot.Config, _ *harnessOpts) { f(c) }
}

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	var pre harnessOpts
	for _, opt := range opts {
		opt(&bot.Config{}, &pre) // the harness's own options, before the logger
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if pre.logw != nil {
		logger = slog.New(slog.NewMultiHandler(logger.Handler(), slog.NewJSONHandler(pre.logw, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
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
		// Purges run at once unless a test stages them (staged_test.go).
		PurgeGrace: bot.PurgeAtOnce,
		// Generous, so that a busy machine (a shared Redis under load) makes
		// no test flaky; TestRedisHangs checks the short default's effect.
		RequestTimeout: 5 * time.Second,
	}
	var o harnessOpts
	for _, opt := range opts {
		opt(&cfg, &o)
	}
	var rdb redis.UniversalClient = redistest.Client(t)
	if o.rdb != nil {
		rdb = o.rdb
	}
	store := approvals.New(rdb, approvals.Options{Prefix: redistest.Prefix(t)})
	var botCloud bot.Cloud = cloud
	if o.cloud != nil {
		botCloud = o.cloud(cloud)
	}
	poster := slackapp.NewPoster(api.Client(), logger)
	poster.APIURL = api.URL() // the stand-in serves the response_urls too
	s := bot.New(cfg, botCloud, store, poster, logger)
	s.SetClaimBlock(100 * time.Millisecond) // stop quickly at the end of the test
	if o.now != nil {
		s.Now = o.now
	}
	h := &harness{t: t, s: s, h: slackapp.New(s).Handler(), slack: api, fake: fake, cloud: cloud, store: store}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if o.noRun {
		close(done)
	} else {
		go func() {
			defer close(done)
			if err := s.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	return h
}

// slashReply is the JSON body of a slash command's answer.
type slashReply struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
}

// signer signs requests as Slack does with the app's signing secret.
var signer = slacktest.Signer{Secret: testSecret}

// slash sends a signed slash command and returns the response and its
// decoded JSON body.
func (h *harness) slash(user, channel, text string) (*httptest.ResponseRecorder, slashReply) {
	h.t.Helper()
	w, body, _ := h.slashURL(user, channel, text)
	return w, body
}

// slashURL is slash, also returning the command's response_url (the
// stand-in's), which shows the acknowledgement until an answer replaces it.
func (h *harness) slashURL(user, channel, text string) (*httptest.ResponseRecorder, slashReply, string) {
	h.t.Helper()
	sc := h.slack.Slash(user, channel, text)
	w, body := h.send(signer.Request("/slack/commands", sc.Body()), text)
	if w.Code == http.StatusOK {
		h.slack.Acknowledge(sc.ResponseURL, w.Body.Bytes())
	}
	return w, body, sc.ResponseURL
}

// send serves a slash command request and returns the response and its
// decoded JSON body.
func (h *harness) send(r *http.Request, text string) (*httptest.ResponseRecorder, slashReply) {
	h.t.Helper()
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	var body slashReply
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			h.t.Fatalf("slash %q: body is not JSON: %v: %q", text, err, w.Body.String())
		}
	}
	return w, body
}

// mustSlash sends a slash command that must get a 200.
func (h *harness) mustSlash(user, channel, text string) slashReply {
	h.t.Helper()
	w, body := h.slash(user, channel, text)
	if w.Code != http.StatusOK {
		h.t.Fatalf("slash %q = %d; want 200", text, w.Code)
	}
	return body
}

// click clicks a card's button and returns the status code. An Approve
// that opens the type-the-name modal (an irreversible action) is then
// answered as an approver would: the server's short name typed and
// submitted (the status is the submission's). press is the click alone.
func (h *harness) click(user, channel string, c slacktest.Card, action string) int {
	h.t.Helper()
	code, k := h.press(user, channel, c, action)
	if code != http.StatusOK || action != slackui.ActionApprove {
		return code
	}
	v, ok := h.slack.ViewOpenedBy(k.TriggerID)
	if !ok {
		return code
	}
	code, _ = h.submit(user, v, h.shortName(c))
	return code
}

// press clicks a card's button, with a trigger_id of the Slack stand-in's
// (so that it can open a modal), and returns the status and the click.
func (h *harness) press(user, channel string, c slacktest.Card, action string) (int, slacktest.Click) {
	h.t.Helper()
	k := h.slack.Click(user, channel, c, action)
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, signer.Request("/slack/interactions", k.Body()))
	return w.Code, k
}

// viewAnswer is the JSON answer to a view_submission.
type viewAnswer struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
}

// submit submits modal v as user with name typed in the type-the-name
// input, and returns the status and the answer (zero when the body is
// empty: the modal closes).
func (h *harness) submit(user string, v slacktest.View, name string) (int, viewAnswer) {
	h.t.Helper()
	sub := h.slack.Submit(user, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: name}})
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, signer.Request("/slack/interactions", sub.Body()))
	var ans viewAnswer
	if w.Code == http.StatusOK && w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			h.t.Fatalf("view_submission answered %q: %v", w.Body.String(), err)
		}
	}
	return w.Code, ans
}

// shortName is the short name of the server of card c's ticket (web1),
// as an approver reads it off the card.
func (h *harness) shortName(c slacktest.Card) string {
	h.t.Helper()
	tk, err := h.store.Get(context.Background(), c.Ticket)
	if err != nil {
		h.t.Fatalf("reading ticket %s: %v", c.Ticket, err)
	}
	short, _, _ := strings.Cut(tk.Server, ".")
	return short
}

// waitCard waits for the n-th (1-based) approval card, and for its
// ticket to record where the card is (as a person's click comes after
// that: a click before it votes but cannot update the card).
func (h *harness) waitCard(n int) slacktest.Card {
	h.t.Helper()
	c := h.slack.WaitCard(h.t, n)
	if h.store != nil {
		h.waitFor("the ticket to record its card", func() bool {
			tk, err := h.store.Get(context.Background(), c.Ticket)
			return err == nil && tk.MessageTS == c.TS
		})
	}
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

// purges counts the purge calls the fake received for server.
// seedIDs are the IDs of the fake's demo servers.
var seedIDs = map[string]string{"web1": "1001", "web2": "1002", "db1": "1003", "old1": "1004", "stage1": "1005"}

func (h *harness) purges(server string) int {
	n := 0
	for _, r := range h.fake.Requests() {
		// Servers are purged by their ID (the seed's IDs).
		if r.Method == http.MethodDelete && (strings.Contains(r.Path, "/"+server) || strings.HasSuffix(r.Path, "/"+seedIDs[server])) && strings.Contains(r.Query, "purge=true") {
			n++
		}
	}
	return n
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
