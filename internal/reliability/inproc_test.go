package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/slack-go/slack"
)

const (
	inSecret = "inproc-signing-secret"
	inToken  = "inproc-webhook-token"
	inBot    = "xoxb-inproc"
)

// syncBuffer is a log destination shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// inproc is bot.Server in the test process, on real parts: a real Redis
// (internal/redistest), the bytemarktest fake behind a real bytemark.Client,
// and the Slack stand-in.
type inproc struct {
	t     testing.TB
	s     *bot.Server
	h     http.Handler
	slack *slackAPI
	fake  *fakeAPI
	store *approvals.Store
	logs  *syncBuffer
}

type inprocOpts struct {
	cfg      func(*bot.Config)
	client   func(*bytemark.Options)
	timeout  time.Duration // the Bytemark HTTP client's
	executor bool
}

func newInproc(t testing.TB, o inprocOpts) *inproc {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fake := newFakeAPI(t)
	copts := bytemark.Options{
		APIURL: fake.URL(), AuthURL: fake.URL(), APIKey: bytemarktest.APIKey, Account: "acme",
		PollInterval: 10 * time.Millisecond, PowerTimeout: 5 * time.Second, Logger: logger,
	}
	if o.client != nil {
		o.client(&copts)
	}
	if o.timeout == 0 {
		o.timeout = 10 * time.Second
	}
	cloud, err := bytemark.NewClient(&http.Client{Timeout: o.timeout}, copts)
	if err != nil {
		t.Fatal(err)
	}
	store := approvals.New(redistest.Client(t), approvals.Options{Prefix: redistest.Prefix(t)})
	api := newSlackAPI(t, inBot)
	policy, err := commands.ParsePolicy("delete")
	if err != nil {
		t.Fatal(err)
	}
	cfg := bot.Config{
		SigningSecret:     inSecret,
		Approvers:         []string{userAppr1, userAppr2},
		ApprovalsRequired: 1,
		ApprovalTTL:       time.Minute,
		Policy:            policy,
		Channel:           chanOps,
		Workers:           2,
		SweepInterval:     50 * time.Millisecond,
		// The scenarios before issue 17 purge at once (staged_test.go stages).
		PurgeGrace: bot.PurgeAtOnce,
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	poster := slackapp.NewPoster(slack.New(inBot, slack.OptionAPIURL(api.URL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second})), logger)
	poster.APIURL = api.URL() // the stand-in serves the response_urls too
	s := bot.New(cfg, cloud, store, poster, logger)
	hooks := monitor.New(s, monitor.Config{WebhookToken: inToken, Mode: monitor.ModeOn, Method: commands.RebootReset})
	ip := &inproc{t: t, s: s, h: slackapp.New(s).Handler(hooks.Register), slack: api, fake: fake, store: store, logs: logs}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if o.executor {
		go func() {
			defer close(done)
			var wg sync.WaitGroup
			wg.Go(func() { hooks.Run(ctx) })
			s.Run(ctx)
			wg.Wait()
		}()
	} else {
		close(done)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	return ip
}

// serve sends r to the bot's handler and returns the recorded answer.
func (ip *inproc) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	ip.h.ServeHTTP(w, r)
	return w
}

// slash sends a signed slash command, whose response_url is the
// stand-in's, and returns the answer's status and text.
func (ip *inproc) slash(user, channel, text string) (int, string) {
	w := ip.serve(signedRequest("", inSecret, "/slack/commands", ip.slack.Slash(user, channel, text).Body(), time.Now()))
	var r slashReply
	json.Unmarshal(w.Body.Bytes(), &r)
	return w.Code, r.Text
}

// click sends a signed click and returns the status; an Approve that
// opens the type-the-name modal is answered with the server's name
// (sendClick).
func (ip *inproc) click(user, channel string, c card, action string) int {
	code, _ := sendClick(ip.slack, ip.interact, user, channel, c, action)
	return code
}

// interact sends a signed interaction body and returns the status and body.
func (ip *inproc) interact(body []byte) (int, []byte) {
	w := ip.serve(signedRequest("", inSecret, "/slack/interactions", body, time.Now()))
	return w.Code, w.Body.Bytes()
}

func (ip *inproc) dump() string {
	return ip.slack.Dump() + "\n--- logs\n" + ip.logs.String()
}

// ephemeralTo waits for a private message to user with every substring.
func (ip *inproc) ephemeralTo(user string, substrings ...string) slackCall {
	ip.t.Helper()
	var found slackCall
	waitFor(ip.t, 10*time.Second, "a private message to "+user+" with "+strings.Join(substrings, ", "), func() bool {
		for _, c := range ip.slack.Find("chat.postEphemeral", substrings...) {
			if c.Form.Get("user") == user {
				found = c
				return true
			}
		}
		return false
	}, ip.dump)
	return found
}
