package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// repoRoot is the module's root directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls cond every 20ms until it holds, or fails the test after
// timeout, with dump() (if not nil) in the message.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool, dump func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if dump != nil {
				msg = "\n" + dump()
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The Slack side is internal/slacktest's: the Web API stand-in, signing
// and the payloads. These names keep the scenarios short.
type (
	slackAPI  = slacktest.API
	slackCall = slacktest.Call
	card      = slacktest.Card
)

// newSlackAPI is a Slack Web API stand-in expecting the bot token token.
func newSlackAPI(t testing.TB, token string) *slackAPI {
	api := slacktest.New(t, slacktest.Options{Token: token, TeamID: slackTeam})
	slackAPIs.Store(api.URL(), api)
	t.Cleanup(func() { slackAPIs.Delete(api.URL()) })
	return api
}

// slackAPIs are the Slack stand-ins of the running tests, by URL (a bot
// process's SLACK_API_URL): an Approve sent to a bot opens its modal in
// the stand-in that bot talks to.
var slackAPIs sync.Map

// sendClick sends user's click of action on card c in channel with send.
// An Approve goes with a trigger_id of api's; when it opens the
// type-the-name modal (an irreversible action), the modal is answered as
// an approver would, with the server's short name typed, and the answer
// returned is the submission's. Without api (nil) the click is sent alone.
func sendClick(api *slackAPI, send func(body []byte) (int, []byte), user, channel string, c card, action string) (int, []byte) {
	if api == nil || action != slackui.ActionApprove {
		return send(clickBody(user, channel, c, action))
	}
	k := api.Click(user, channel, c, action)
	code, body := send(k.Body())
	v, ok := api.ViewOpenedBy(k.TriggerID)
	if code != http.StatusOK || !ok {
		return code, body
	}
	return send(typeName(api, user, v, cardServer(c)))
}

// typeName is the body of user submitting modal v with name typed.
func typeName(api *slackAPI, user string, v slacktest.View, name string) []byte {
	return api.Submit(user, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: name}}).Body()
}

// cardServer is the short name of the server an approval card is about,
// as a person reads it off the card ("Approval needed: purge web2.default.acme").
func cardServer(c card) string {
	_, cmd, _ := strings.Cut(c.Text, ": ")
	f := strings.Fields(cmd)
	i := 1
	if len(f) > 0 && f[0] == "disc" {
		i = 2
	}
	if len(f) <= i {
		return ""
	}
	short, _, _ := strings.Cut(f[i], ".")
	return short
}

// sign returns Slack's v0 signature of body at ts.
func sign(secret string, ts int64, body []byte) string { return slacktest.Signature(secret, ts, body) }

// signedRequest is a Slack request to base+path signed with secret at time at.
func signedRequest(base, secret, path string, body []byte, at time.Time) *http.Request {
	return slacktest.SignedRequest(secret, base+path, body, at)
}

// trunc shortens s to n bytes, for messages.
var trunc = slacktest.Truncate

// slackTeam is the bot's workspace: the team_id of slashBody and clickBody
// requests, and what the Slack stand-in's auth.test answers.
const slackTeam = slacktest.DefaultTeam

// slashBody is a slash command from user in channel, with a trigger_id of
// its own.
func slashBody(user, channel, text string) []byte { return slacktest.SlashBody(user, channel, text) }

// blockActionsJSON is Slack's block_actions example, as the bot's own tests
// use it (a fuzz seed).
const blockActionsJSON = `{"type":"block_actions","team":{"id":"T9TK3CUKW","domain":"example"},"user":{"id":"UA8RXUSPL","username":"jtorrance","team_id":"T9TK3CUKW"},
 "api_app_id":"AABA1ABCD","token":"9s8d9as89d8as9d8as989",
 "container":{"type":"message","message_ts":"1548261231.000200","channel_id":"CBR2V3XEX","is_ephemeral":false},
 "trigger_id":"12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
 "channel":{"id":"CBR2V3XEX","name":"review-updates"},
 "message":{"bot_id":"BAH5CA16Z","type":"message","text":"Approval needed: purge web1","user":"UAJ2RU415","ts":"1548261231.000200"},
 "response_url":"https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209",
 "actions":[{"action_id":"approve","block_id":"approval:CBR2V3XEX","text":{"type":"plain_text","text":"Approve","emoji":true},
             "value":"TICKET","type":"button","style":"primary","action_ts":"1548426417.840180"}]}`

// clickBody is a block_actions payload: user clicks action ("approve" or
// "deny") on card c, in channel.
func clickBody(user, channel string, c card, action string) []byte {
	return slacktest.ClickBody(user, channel, c, action)
}

// slashReply is the JSON body of a slash command's answer.
type slashReply struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
}

// alertBody is an Alertmanager delivery (version 4) of n firing alerts for
// server, told apart by seq (their fingerprints and start times differ).
func alertBody(server string, seq, n int) []byte {
	start := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	alerts := make([]slacktest.Alert, n)
	for i := range alerts {
		k := seq*n + i
		a := slacktest.Firing("bytemark_server", server, start.Add(time.Duration(k)*time.Second))
		a.Labels["instance"] = fmt.Sprintf("%s:%d", server, 9100+k%1000)
		a.Annotations = map[string]string{"summary": server + " is down"}
		a.Fingerprint = fmt.Sprintf("%016x", 0x695977d59c520000+k)
		alerts[i] = a
	}
	return slacktest.Alertmanager(alerts...).JSON()
}

// fakeAPI is the bytemarktest fake served by the test process, behind a
// gate that can hold the answers to chosen requests (the request reaches
// the fake and acts; only its answer waits), to catch a job mid-flight.
type fakeAPI struct {
	*bytemarktest.Server
	srv *httptest.Server

	mu      sync.Mutex
	hold    func(r *http.Request) bool
	held    int
	release chan struct{}
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{Server: bytemarktest.NewUnstartedServer(), release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.openGate()
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.Server.Close()
	})
	return f
}

// URL is the base URL of the API and auth host.
func (f *fakeAPI) URL() string { return f.srv.URL }

// holdAnswers makes the fake act on requests for which match is true and
// hold their answers until openGate.
func (f *fakeAPI) holdAnswers(match func(r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = match
}

func (f *fakeAPI) heldCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

func (f *fakeAPI) openGate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hold := f.hold != nil && f.hold(r)
	release := f.release
	f.mu.Unlock()
	if !hold {
		f.Handler().ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	f.Handler().ServeHTTP(rec, r)
	f.mu.Lock()
	f.held++
	f.mu.Unlock()
	select {
	case <-release:
	case <-r.Context().Done():
		return // the caller died or gave up: the answer is lost
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// signals counts the POST …/signal requests for server.
func signals(f *bytemarktest.Server, server string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/"+server+"/signal") {
			n++
		}
	}
	return n
}
