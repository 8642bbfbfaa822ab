package reliability

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/logtest"
)

const (
	inSecret = "inproc-signing-secret"
	inToken  = "inproc-webhook-token"
	inBot    = "xoxb-inproc"
)

// inproc is bot.Server in the test process, built as main builds it
// (internal/bottest) on real parts: a real Redis (internal/redistest), the
// bytemarktest fake behind a real bytemark.Client and a gate (fakeAPI),
// and the Slack stand-in. The monitoring webhooks are on, with inToken.
type inproc struct {
	*bottest.Bot
	fake *fakeAPI
	logs *logtest.Buffer // the bot's log, as JSON lines
}

type inprocOpts struct {
	cfg      func(*bot.Config)
	client   func(*bytemark.Options)
	timeout  time.Duration // the Bytemark HTTP client's
	executor bool
}

func newInproc(t testing.TB, o inprocOpts) *inproc {
	t.Helper()
	logs := &logtest.Buffer{}
	fake := newFakeAPI(t)
	if o.timeout == 0 {
		o.timeout = 10 * time.Second
	}
	parts := func(s *bottest.Setup) {
		s.Fake, s.FakeURL, s.Timeout = fake.Server, fake.URL(), o.timeout
		s.Client = func(c *bytemark.Options) {
			c.PowerTimeout = 5 * time.Second
			if o.client != nil {
				o.client(c)
			}
		}
		s.Slack = newSlackAPI(t, inBot)
		s.Monitor = monitor.Config{WebhookToken: inToken, Mode: monitor.ModeOn, Method: commands.RebootReset}
		s.NoRun = !o.executor
	}
	cfg := bottest.WithConfig(func(c *bot.Config) {
		c.SigningSecret = inSecret
		c.TeamID = "" // any workspace: the fuzz seeds are Slack's examples
		c.Workers = 2
		c.RequestTimeout = 0 // the default
		if o.cfg != nil {
			o.cfg(c)
		}
	})
	return &inproc{Bot: bottest.New(t, bottest.WithLog(logs), parts, cfg), fake: fake, logs: logs}
}

// serve sends r to the bot's handler and returns the recorded answer.
func (ip *inproc) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	ip.Handler.ServeHTTP(w, r)
	return w
}

// slash sends a signed slash command, whose response_url is the
// stand-in's, and returns the answer's status and text.
func (ip *inproc) slash(user, channel, text string) (int, string) {
	w := ip.serve(signedRequest("", inSecret, "/slack/commands", ip.Slack.Slash(user, channel, text).Body(), time.Now()))
	var r slashReply
	json.Unmarshal(w.Body.Bytes(), &r)
	return w.Code, r.Text
}

// click sends a signed click and returns the status; an Approve that
// opens the type-the-name modal is answered with the server's name
// (sendClick).
func (ip *inproc) click(user, channel string, c card, action string) int {
	code, _ := sendClick(ip.Slack, ip.interact, user, channel, c, action)
	return code
}

// interact sends a signed interaction body and returns the status and body.
func (ip *inproc) interact(body []byte) (int, []byte) {
	w := ip.serve(signedRequest("", inSecret, "/slack/interactions", body, time.Now()))
	return w.Code, w.Body.Bytes()
}

func (ip *inproc) dump() string {
	return ip.Slack.Dump() + "\n--- logs\n" + ip.logs.String()
}

// ephemeralTo waits for a private message to user with every substring.
func (ip *inproc) ephemeralTo(user string, substrings ...string) slackCall {
	ip.T.Helper()
	var found slackCall
	waitFor(ip.T, 10*time.Second, "a private message to "+user+" with "+strings.Join(substrings, ", "), func() bool {
		for _, c := range ip.Slack.Find("chat.postEphemeral", substrings...) {
			if c.Form.Get("user") == user {
				found = c
				return true
			}
		}
		return false
	}, ip.dump)
	return found
}
