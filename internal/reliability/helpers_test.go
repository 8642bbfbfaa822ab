package reliability

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

// Slack and chat IDs used throughout.
const (
	chanOps   = "COPS00001"
	chanOther = "COTHER001"
	userAsker = "UASKER001"
	userAppr1 = "UAPPROVE1"
	userAppr2 = "UAPPROVE2"
	userOther = "UOTHER001"
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

// sign returns Slack's v0 signature of body at ts.
func sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// signedRequest is a Slack request to path signed with secret at time at.
func signedRequest(base, secret, path string, body []byte, at time.Time) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
	r.Header.Set("X-Slack-Signature", sign(secret, at.Unix(), body))
	return r
}

// slackTeam is the bot's workspace: the team_id of slashBody and clickBody
// requests, and what the Slack stand-in's auth.test answers.
const slackTeam = "T0001"

// slashBody is a slash command from user in channel, built on the payload
// Slack documents.
func slashBody(user, channel, text string) []byte {
	v, _ := url.ParseQuery("token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=E0001&enterprise_name=Globular%20Construct%20Inc&channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve&command=/bytemark&text=94070&response_url=https://hooks.slack.com/commands/1234/5678&trigger_id=13345224609.738474920.8088930838d88f008e0&api_app_id=A123456")
	v.Set("user_id", user)
	v.Set("channel_id", channel)
	v.Set("text", text)
	// Slack makes a trigger_id for each command typed.
	v.Set("trigger_id", fmt.Sprintf("13345224609.738474920.%016x", rand.Uint64()))
	return []byte(v.Encode())
}

// blockActionsJSON is Slack's block_actions example, as the bot's own tests
// use it.
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
	var p map[string]any
	if err := json.Unmarshal([]byte(blockActionsJSON), &p); err != nil {
		panic(err)
	}
	p["user"].(map[string]any)["id"] = user
	p["user"].(map[string]any)["team_id"] = slackTeam
	p["team"].(map[string]any)["id"] = slackTeam
	p["container"].(map[string]any)["channel_id"] = channel
	p["container"].(map[string]any)["message_ts"] = c.ts
	p["channel"].(map[string]any)["id"] = channel
	act := p["actions"].([]any)[0].(map[string]any)
	act["action_id"] = action
	act["value"] = c.ticket
	act["block_id"] = c.blockID
	js, _ := json.Marshal(p)
	return []byte(url.Values{"payload": {string(js)}}.Encode())
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
	type alert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	start := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	alerts := make([]alert, n)
	for i := range alerts {
		k := seq*n + i
		alerts[i] = alert{
			Status: "firing",
			Labels: map[string]string{"alertname": "InstanceDown", "instance": fmt.Sprintf("%s:%d", server, 9100+k%1000),
				"job": "node", "severity": "critical", "bytemark_server": server},
			Annotations:  map[string]string{"summary": server + " is down"},
			StartsAt:     start.Add(time.Duration(k) * time.Second).Format(time.RFC3339),
			EndsAt:       "0001-01-01T00:00:00Z",
			GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0",
			Fingerprint:  fmt.Sprintf("%016x", 0x695977d59c520000+k),
		}
	}
	b, _ := json.Marshal(map[string]any{
		"receiver": "bytemark-bot", "status": "firing", "alerts": alerts,
		"notification_reason": "first notification",
		"groupLabels":         map[string]string{"alertname": "InstanceDown"},
		"commonLabels":        map[string]string{"alertname": "InstanceDown"},
		"commonAnnotations":   map[string]string{},
		"routeLabels":         map[string]string{},
		"externalURL":         "http://alertmanager.example.com:9093",
		"version":             "4", "groupKey": `{}:{alertname="InstanceDown"}`, "truncatedAlerts": 0,
	})
	return b
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

// purges counts the purge requests (DELETE …?purge=true) the fake
// received for server.
func purges(f *bytemarktest.Server, server string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == http.MethodDelete && strings.HasSuffix(r.Path, "/"+server) && strings.Contains(r.Query, "purge=true") {
			n++
		}
	}
	return n
}

// writes counts the requests to the fake that could change something
// (anything but reads and logins).
func writes(f *bytemarktest.Server) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.HasPrefix(r.Path, "/session") {
			n++
		}
	}
	return n
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
