package reliability

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
)

// slackCall is one call the bot made to the Slack Web API stand-in.
type slackCall struct {
	Method string     // e.g. "chat.postMessage"; "chat.postMessage (429)" for a rate-limited one
	Form   url.Values // form fields, or the top-level JSON fields as strings
	Raw    string     // the raw body
	TS     string     // the ts the stand-in answered with (chat.postMessage)
	At     time.Time
}

// content is what a person would see: text and blocks, with the JSON
// escapes of < > & undone.
func (c slackCall) content() string {
	return unescapeJSON(c.Form.Get("text") + "\n" + c.Form.Get("blocks"))
}

func unescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

// slackAPI is an httptest stand-in for the Slack Web API. It answers like
// Slack, records every call and can answer 429 with Retry-After.
type slackAPI struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu         sync.Mutex
	calls      []slackCall
	seq        int
	limited    map[string]int // method → how many 429s to answer first
	retryAfter int            // seconds, for the 429s
	badAuth    []string
}

func newSlackAPI(t testing.TB, token string) *slackAPI {
	a := &slackAPI{t: t, token: token, limited: map[string]int{}, retryAfter: 1}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// URL is the Web API base URL to give the bot (SLACK_API_URL).
func (a *slackAPI) URL() string { return a.srv.URL + "/" }

// rateLimit makes the next n calls of method answer 429 with Retry-After.
func (a *slackAPI) rateLimit(method string, n, retryAfterSeconds int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.limited[method] = n
	a.retryAfter = retryAfterSeconds
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
	w.Header().Set("Content-Type", "application/json")

	a.mu.Lock()
	if got := r.Header.Get("Authorization"); got != "Bearer "+a.token && form.Get("token") != a.token {
		a.badAuth = append(a.badAuth, method)
	}
	call := slackCall{Method: method, Form: form, Raw: string(body), At: time.Now()}
	if a.limited[method] > 0 {
		a.limited[method]--
		call.Method = method + " (429)"
		a.calls = append(a.calls, call)
		ra := a.retryAfter
		a.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
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
	case "usergroups.users.list":
		resp = map[string]any{"ok": false, "error": "no_such_subteam"}
	case "auth.test":
		// The bot token's workspace: the team of slashBody and clickBody.
		resp = map[string]any{"ok": true, "url": "https://example.slack.com/", "team": "example", "user": "bytebot",
			"team_id": slackTeam, "user_id": "UBOT00001", "bot_id": "BBOT00001"}
	default:
		resp = map[string]any{"ok": false, "error": "unknown_method"}
	}
	a.calls = append(a.calls, call)
	a.mu.Unlock()
	json.NewEncoder(w).Encode(resp)
}

// Calls returns the calls of method so far ("" for all), oldest first.
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

// find returns the calls of method whose content has every substring.
func (a *slackAPI) find(method string, substrings ...string) []slackCall {
	var cs []slackCall
	for _, c := range a.Calls(method) {
		all := c.content()
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
		fmt.Fprintf(&b, "  %s %s channel=%s ts=%s thread_ts=%s user=%s text=%q\n", c.At.Format("15:04:05.000"), c.Method,
			c.Form.Get("channel"), c.Form.Get("ts"), c.Form.Get("thread_ts"), c.Form.Get("user"), trunc(c.Form.Get("text"), 160))
	}
	return b.String()
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// card is what a click needs from an approval card.
type card struct {
	ticket, blockID, ts, channel string
}

// cardOf returns the approval card in a chat.postMessage call, if it is one.
func cardOf(c slackCall) (card, bool) {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(c.Form.Get("blocks")), &blocks); err != nil {
		return card{}, false
	}
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.ActionID == "approve" {
				return card{ticket: e.Value, blockID: b.BlockID, ts: c.TS, channel: c.Form.Get("channel")}, true
			}
		}
	}
	return card{}, false
}

// cards returns the approval cards posted so far, oldest first.
func (a *slackAPI) cards() []card {
	var cs []card
	for _, c := range a.Calls("chat.postMessage") {
		if b, ok := cardOf(c); ok {
			cs = append(cs, b)
		}
	}
	return cs
}

// waitCard waits for the n-th (1-based) approval card.
func (a *slackAPI) waitCard(t testing.TB, n int) card {
	t.Helper()
	waitFor(t, 20*time.Second, "approval card", func() bool { return len(a.cards()) >= n }, a.dump)
	return a.cards()[n-1]
}

// waitPost waits for a chat.postMessage with every substring.
func (a *slackAPI) waitPost(t testing.TB, substrings ...string) slackCall {
	t.Helper()
	waitFor(t, 20*time.Second, "a post with "+strings.Join(substrings, ", "), func() bool {
		return len(a.find("chat.postMessage", substrings...)) > 0
	}, a.dump)
	return a.find("chat.postMessage", substrings...)[0]
}
