package bot_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/bot/slackui"
)

// slackCall is one call the bot made to the Slack Web API.
type slackCall struct {
	Method string     // e.g. "chat.postMessage"
	Form   url.Values // form fields, or the top-level JSON fields as strings
	TS     string     // the ts the stand-in answered with (postMessage)
	At     time.Time
}

// blocks returns the call's blocks as JSON text ("" if none), with the
// HTML-safe escapes of < > & undone so that tests can look for "<@U1>".
func (c slackCall) blocks() string { return unescapeJSON(c.Form.Get("blocks")) }

func unescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

// slackAPI is an httptest stand-in for the Slack Web API. It answers like
// Slack, records every call and can answer 429 with Retry-After.
type slackAPI struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	calls    []slackCall
	seq      int
	limited  map[string]int // method → how many 429s to answer first
	groups   map[string][]string
	failWith map[string]string // method → Slack error to answer with
}

func newSlackAPI(t testing.TB) *slackAPI {
	a := &slackAPI{t: t, limited: map[string]int{}, groups: map[string][]string{}, failWith: map[string]string{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// client returns a slack-go client that talks to the stand-in.
func (a *slackAPI) client() *slack.Client {
	return slack.New("xoxb-test", slack.OptionAPIURL(a.srv.URL+"/"),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))
}

// rateLimit makes the next n calls of method answer 429 Retry-After: 1.
func (a *slackAPI) rateLimit(method string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.limited[method] = n
}

func (a *slackAPI) setGroup(id string, users ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.groups[id] = users
}

func (a *slackAPI) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/")
	body, _ := io.ReadAll(r.Body)
	form := url.Values{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		json.Unmarshal(body, &m)
		for k, v := range m {
			if s, ok := v.(string); ok {
				form.Set(k, s)
			} else {
				b, _ := json.Marshal(v)
				form.Set(k, string(b))
			}
		}
	} else {
		form, _ = url.ParseQuery(string(body))
	}
	if got := r.Header.Get("Authorization"); got != "Bearer xoxb-test" && form.Get("token") != "xoxb-test" {
		a.t.Errorf("slack stand-in: %s called without the bot token", method)
	}
	w.Header().Set("Content-Type", "application/json")

	a.mu.Lock()
	call := slackCall{Method: method, Form: form, At: time.Now()}
	if a.limited[method] > 0 {
		a.limited[method]--
		call.Method = method + " (429)"
		a.calls = append(a.calls, call)
		a.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	if e := a.failWith[method]; e != "" {
		a.calls = append(a.calls, call)
		a.mu.Unlock()
		fmt.Fprintf(w, `{"ok":false,"error":%q}`, e)
		return
	}
	a.seq++
	ts := fmt.Sprintf("1700000000.%06d", a.seq)
	var resp any
	switch method {
	case "chat.postMessage":
		call.TS = ts
		resp = map[string]any{"ok": true, "channel": form.Get("channel"), "ts": ts,
			"message": map[string]any{"type": "message", "text": form.Get("text"), "ts": ts}}
	case "chat.update":
		resp = map[string]any{"ok": true, "channel": form.Get("channel"), "ts": form.Get("ts"), "text": form.Get("text")}
	case "chat.postEphemeral":
		resp = map[string]any{"ok": true, "message_ts": ts}
	case "auth.test":
		// The bot token's workspace: the team of testdata's requests.
		resp = map[string]any{"ok": true, "url": "https://example.slack.com/", "team": "example", "user": "bytebot",
			"team_id": testTeam, "user_id": "UBOT00001", "bot_id": "BBOT00001"}
	case "usergroups.users.list":
		users := a.groups[form.Get("usergroup")]
		if users == nil {
			a.calls = append(a.calls, call)
			a.mu.Unlock()
			io.WriteString(w, `{"ok":false,"error":"no_such_subteam"}`)
			return
		}
		resp = map[string]any{"ok": true, "users": users}
	default:
		resp = map[string]any{"ok": false, "error": "unknown_method"}
	}
	a.calls = append(a.calls, call)
	a.mu.Unlock()
	json.NewEncoder(w).Encode(resp)
}

// Calls returns the calls of method so far ("" for all).
func (a *slackAPI) Calls(method string) []slackCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	var cs []slackCall
	for _, c := range a.calls {
		if method == "" || c.Method == method {
			cs = append(cs, c)
		}
	}
	return cs
}

// find returns the calls of method whose text or blocks contain all of
// the given substrings.
func (a *slackAPI) find(method string, substrings ...string) []slackCall {
	var cs []slackCall
	for _, c := range a.Calls(method) {
		all := c.Form.Get("text") + "\n" + c.blocks()
		ok := true
		for _, s := range substrings {
			if !strings.Contains(all, s) {
				ok = false
				break
			}
		}
		if ok {
			cs = append(cs, c)
		}
	}
	return cs
}

// dump lists every call, for failure messages.
func (a *slackAPI) dump() string {
	var b strings.Builder
	for _, c := range a.Calls("") {
		fmt.Fprintf(&b, "  %s channel=%s ts=%s thread_ts=%s user=%s text=%q\n", c.Method, c.Form.Get("channel"),
			c.Form.Get("ts"), c.Form.Get("thread_ts"), c.Form.Get("user"), slackui.Truncate(c.Form.Get("text"), 200))
	}
	return b.String()
}
