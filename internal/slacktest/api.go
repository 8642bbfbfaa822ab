package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Identities the stand-in and the builders use unless told otherwise.
const (
	DefaultTeam       = "T0001"     // the workspace: auth.test's team_id and the payloads' team
	DefaultTeamDomain = "example"   // its domain
	DefaultToken      = "xoxb-test" // the bot token
	DefaultBotUser    = "UBOT00001" // auth.test's user_id
	DefaultBotID      = "BBOT00001" // auth.test's bot_id
	DefaultAppID      = "A0001"     // api_app_id of the payloads
)

// Options configure an API stand-in. The zero value works: the Default*
// identities, the bot token DefaultToken.
type Options struct {
	Token      string // the bot token every call must carry; "" is DefaultToken; "*" accepts any token
	TeamID     string // auth.test's team_id and the team of the payloads built by the API
	TeamDomain string
	BotUserID  string
	BotID      string
	AppID      string
	// Now is the clock for response_url and trigger_id lifetimes;
	// time.Now if nil.
	Now func() time.Time
	// TriggerTTL is how long a trigger_id opens a view; Slack's 3s if 0.
	TriggerTTL time.Duration
	// Discard keeps no calls (Calls, Find and the waits see none): only
	// Counts, LastCall and OnCall. For the load harness, which makes
	// hundreds of thousands of calls.
	Discard bool
}

// API is a stand-in for the Slack Web API and for the response_url
// webhooks it hands out, served over HTTP on loopback. It answers like
// Slack, records every call, and fails on demand. Its methods are safe
// for concurrent use.
type API struct {
	o   Options
	t   testing.TB // nil outside tests
	srv *httptest.Server

	mu       sync.Mutex
	calls    []Call
	counts   map[string]int
	last     time.Time
	changed  chan struct{} // closed and replaced on every call
	seq      int64
	limited  map[string]rateLimit
	failWith map[string]string
	channels map[string]string // channel → the Slack error chat.* calls there get
	groups   map[string][]string
	badAuth  []string
	onCall   []func(Call)
	triggers map[string]*trigger
	urls     map[string]*responseURL
	views    map[string]*View
}

type rateLimit struct {
	n          int
	retryAfter time.Duration
}

// New starts a stand-in for the test t and stops it when t ends. A call
// without the bot token fails t.
func New(t testing.TB, o Options) *API {
	t.Helper()
	a := newAPI(o)
	a.t = t
	a.srv.Start()
	t.Cleanup(a.Close)
	return a
}

// Start starts a stand-in outside a test (the load harness); Close stops it.
func Start(o Options) *API {
	a := newAPI(o)
	a.srv.Start()
	return a
}

func newAPI(o Options) *API {
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.TeamID == "" {
		o.TeamID = DefaultTeam
	}
	if o.TeamDomain == "" {
		o.TeamDomain = DefaultTeamDomain
	}
	if o.BotUserID == "" {
		o.BotUserID = DefaultBotUser
	}
	if o.BotID == "" {
		o.BotID = DefaultBotID
	}
	if o.AppID == "" {
		o.AppID = DefaultAppID
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TriggerTTL == 0 {
		o.TriggerTTL = 3 * time.Second
	}
	a := &API{o: o, counts: map[string]int{}, changed: make(chan struct{}), limited: map[string]rateLimit{},
		failWith: map[string]string{}, channels: map[string]string{}, groups: map[string][]string{},
		triggers: map[string]*trigger{}, urls: map[string]*responseURL{}, views: map[string]*View{}}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.srv.Config.ReadHeaderTimeout = 5 * time.Second
	a.srv.Config.IdleTimeout = 2 * time.Minute
	return a
}

// Close stops the stand-in.
func (a *API) Close() { a.srv.Close() }

// URL is the Web API base URL, ending in "/" (SLACK_API_URL, or
// slack.OptionAPIURL).
func (a *API) URL() string { return a.srv.URL + "/" }

// Token is the bot token the stand-in expects.
func (a *API) Token() string { return a.o.Token }

// TeamID is the workspace auth.test names.
func (a *API) TeamID() string { return a.o.TeamID }

// BotUserID is the bot's user ID (auth.test).
func (a *API) BotUserID() string { return a.o.BotUserID }

// Client is a slack-go client of the stand-in, with the bot token, built
// as main builds the bot's.
func (a *API) Client() *slack.Client {
	return slack.New(a.o.Token, slack.OptionAPIURL(a.URL()), slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))
}

// RateLimit makes the next n calls of method answer 429 with Retry-After
// (whole seconds, at least 1). They are recorded as method+" (429)".
func (a *API) RateLimit(method string, n int, retryAfter time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.limited[method] = rateLimit{n: n, retryAfter: retryAfter}
}

// FailWith makes every call of method answer {"ok":false,"error":slackErr}
// (e.g. "fatal_error", "invalid_auth", "missing_scope") until FailWith
// (method, "").
func (a *API) FailWith(method, slackErr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slackErr == "" {
		delete(a.failWith, method)
		return
	}
	a.failWith[method] = slackErr
}

// ChannelError makes chat.* calls to channel fail with slackErr, as Slack
// answers for a channel the bot cannot post in: "channel_not_found" (a
// private channel or DM it is not in), "not_in_channel" (a public channel
// it has not joined), "is_archived". "" lifts it. response_url posts still
// reach the channel, as Slack's do.
func (a *API) ChannelError(channel, slackErr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slackErr == "" {
		delete(a.channels, channel)
		return
	}
	a.channels[channel] = slackErr
}

// SetGroup makes user group id (S…) have users. usergroups.users.list of
// an unknown group answers no_such_subteam.
func (a *API) SetGroup(id string, users ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.groups[id] = users
}

// OnCall calls f with every call as it is answered (also with Discard).
// f must be quick, safe for concurrent use, and must not call the API
// (it runs under the API's lock).
func (a *API) OnCall(f func(Call)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onCall = append(a.onCall, f)
}

// BadAuth lists the methods called without the bot token.
func (a *API) BadAuth() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.badAuth...)
}

// Counts returns how often each method was called (429s as method+" (429)").
func (a *API) Counts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]int, len(a.counts))
	for k, v := range a.counts {
		m[k] = v
	}
	return m
}

// LastCall is when the last call came (zero if none).
func (a *API) LastCall() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// readForm returns the fields of a Web API call: its form, or the
// top-level fields of its JSON body (strings as they are, the rest as
// JSON text), with the query's fields.
func readForm(r *http.Request, body []byte) url.Values {
	form := url.Values{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]json.RawMessage
		json.Unmarshal(body, &m)
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				form.Set(k, s)
			} else {
				form.Set(k, string(raw))
			}
		}
	} else {
		form, _ = url.ParseQuery(string(body))
		if form == nil {
			form = url.Values{}
		}
	}
	for k, vs := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = vs
		}
	}
	return form
}

// answer is what the stand-in says to one call.
type answer struct {
	status int
	header map[string]string
	body   any // JSON-encoded; a string is written as it is
}

func okAnswer(fields map[string]any) answer {
	fields["ok"] = true
	return answer{status: http.StatusOK, body: fields}
}

func slackError(e string) answer {
	return answer{status: http.StatusOK, body: map[string]any{"ok": false, "error": e}}
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if id, ok := strings.CutPrefix(r.URL.Path, responsePath); ok {
		a.serveResponse(w, r, id, body)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/")
	form := readForm(r, body)
	call := Call{Method: method, Form: form, Raw: string(body)}

	a.mu.Lock()
	call.At = a.o.Now()
	ans := a.answerLocked(r, &call)
	a.recordLocked(call)
	a.mu.Unlock()

	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(ans.status)
	if s, ok := ans.body.(string); ok {
		io.WriteString(w, s)
		return
	}
	json.NewEncoder(w).Encode(ans.body)
}

// answerLocked decides the answer to call, and fills in what the call
// learns from it (TS, Error).
func (a *API) answerLocked(r *http.Request, call *Call) answer {
	method, form := call.Method, call.Form
	if tok := a.o.Token; tok != "*" && r.Header.Get("Authorization") != "Bearer "+tok && form.Get("token") != tok {
		a.badAuth = append(a.badAuth, method)
		if a.t != nil {
			a.t.Errorf("slacktest: %s called without the bot token", method)
		}
		call.Error = "invalid_auth"
		return slackError(call.Error)
	}
	if rl := a.limited[method]; rl.n > 0 {
		rl.n--
		a.limited[method] = rl
		call.Method = method + " (429)"
		call.Error = "ratelimited"
		secs := max(1, int((rl.retryAfter+time.Second-1)/time.Second))
		return answer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": strconv.Itoa(secs)},
			body: `{"ok":false,"error":"ratelimited"}`}
	}
	if e := a.failWith[method]; e != "" {
		call.Error = e
		return slackError(e)
	}
	if strings.HasPrefix(method, "chat.") {
		if e := a.channels[form.Get("channel")]; e != "" {
			call.Error = e
			return slackError(e)
		}
	}
	switch method {
	case "chat.postMessage":
		ch := form.Get("channel")
		if ch == "" {
			call.Error = "channel_not_found"
			return slackError(call.Error)
		}
		if form.Get("text") == "" && form.Get("blocks") == "" && form.Get("attachments") == "" {
			call.Error = "no_text"
			return slackError(call.Error)
		}
		call.TS = a.tsLocked()
		return okAnswer(map[string]any{"channel": ch, "ts": call.TS,
			"message": map[string]any{"type": "message", "text": form.Get("text"), "ts": call.TS, "bot_id": a.o.BotID}})
	case "chat.update":
		if form.Get("ts") == "" {
			call.Error = "message_not_found"
			return slackError(call.Error)
		}
		return okAnswer(map[string]any{"channel": form.Get("channel"), "ts": form.Get("ts"), "text": form.Get("text")})
	case "chat.delete":
		if form.Get("ts") == "" {
			call.Error = "message_not_found"
			return slackError(call.Error)
		}
		return okAnswer(map[string]any{"channel": form.Get("channel"), "ts": form.Get("ts")})
	case "chat.postEphemeral":
		if form.Get("user") == "" {
			call.Error = "user_not_in_channel"
			return slackError(call.Error)
		}
		call.TS = a.tsLocked()
		return okAnswer(map[string]any{"message_ts": call.TS})
	case "auth.test":
		return okAnswer(map[string]any{"url": "https://" + a.o.TeamDomain + ".slack.com/", "team": a.o.TeamDomain,
			"user": "bytebot", "team_id": a.o.TeamID, "user_id": a.o.BotUserID, "bot_id": a.o.BotID})
	case "usergroups.users.list":
		users, ok := a.groups[form.Get("usergroup")]
		if !ok {
			call.Error = "no_such_subteam"
			return slackError(call.Error)
		}
		if users == nil {
			users = []string{}
		}
		return okAnswer(map[string]any{"users": users})
	case "views.open", "views.push":
		return a.openViewLocked(call)
	case "views.update":
		return a.updateViewLocked(call)
	}
	call.Error = "unknown_method"
	return slackError(call.Error)
}

// tsLocked returns a message timestamp unique to this stand-in.
func (a *API) tsLocked() string {
	a.seq++
	return fmt.Sprintf("%d.%06d", 1700000000+a.seq/1000000, a.seq%1000000)
}

func (a *API) recordLocked(c Call) {
	a.counts[c.Method]++
	a.last = c.At
	if !a.o.Discard {
		a.calls = append(a.calls, c)
	}
	for _, f := range a.onCall {
		f(c)
	}
	close(a.changed)
	a.changed = make(chan struct{})
}
