package slacktest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Call is one call the bot made to the stand-in: a Web API method, or a
// post to a response_url (Method "response_url").
type Call struct {
	Method string     // e.g. "chat.postMessage"; "chat.postMessage (429)" for a rate-limited one
	Form   url.Values // form fields, or the top-level JSON fields as strings
	Raw    string     // the raw body
	TS     string     // the ts the stand-in answered with (chat.postMessage, chat.postEphemeral)
	Error  string     // the Slack error answered ("" when ok)
	URL    string     // the response_url posted to (Method "response_url")
	At     time.Time
}

// OK reports whether the call succeeded.
func (c Call) OK() bool { return c.Error == "" }

// Channel is the channel the call names.
func (c Call) Channel() string { return c.Form.Get("channel") }

// Text is the call's text with the JSON escapes of < > & undone.
func (c Call) Text() string { return UnescapeJSON(c.Form.Get("text")) }

// BlocksJSON returns the call's blocks as JSON text ("" if none), with the
// HTML-safe escapes of < > & undone so that tests can look for "<@U1>".
func (c Call) BlocksJSON() string { return UnescapeJSON(c.Form.Get("blocks")) }

// Blocks decodes the call's blocks (Block Kit) with slack-go.
func (c Call) Blocks() slack.Blocks {
	var b slack.Blocks
	json.Unmarshal([]byte(c.Form.Get("blocks")), &b)
	return b
}

// Content is what a person would see: text and blocks.
func (c Call) Content() string { return c.Text() + "\n" + c.BlocksJSON() }

// Has reports whether the call's content has every substring.
func (c Call) Has(substrings ...string) bool {
	all := c.Content()
	for _, s := range substrings {
		if !strings.Contains(all, s) {
			return false
		}
	}
	return true
}

// UnescapeJSON undoes the HTML-safe escapes encoding/json writes for < >
// and & (\u003c \u003e \u0026), so that a test can look for "<@U1>" in
// JSON it marshalled itself.
func UnescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

// Calls returns the calls of method so far ("" for all), oldest first.
func (a *API) Calls(method string) []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	var cs []Call
	for _, c := range a.calls {
		if method == "" || c.Method == method {
			cs = append(cs, c)
		}
	}
	return cs
}

// Find returns the calls of method ("" for all) whose content has every
// substring.
func (a *API) Find(method string, substrings ...string) []Call {
	var cs []Call
	for _, c := range a.Calls(method) {
		if c.Has(substrings...) {
			cs = append(cs, c)
		}
	}
	return cs
}

// Posts returns the messages posted to channels (successful
// chat.postMessage calls) whose content has every substring.
func (a *API) Posts(substrings ...string) []Call {
	var cs []Call
	for _, c := range a.Find("chat.postMessage", substrings...) {
		if c.OK() {
			cs = append(cs, c)
		}
	}
	return cs
}

// WaitTimeout bounds every Wait of the kit.
const WaitTimeout = 20 * time.Second

// Wait waits until cond holds, re-checking it on every call the stand-in
// gets (and every 50ms, for conditions on other state), or fails t after
// WaitTimeout with what and the calls so far.
func (a *API) Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		a.mu.Lock()
		changed := a.changed
		a.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("slacktest: timed out after %s waiting for %s\n%s", WaitTimeout, what, a.Dump())
		}
	}
}

// WaitCall waits for a call of method whose content has every substring,
// and returns the first.
func (a *API) WaitCall(t testing.TB, method string, substrings ...string) Call {
	t.Helper()
	var found []Call
	a.Wait(t, fmt.Sprintf("a %s call with %q", method, substrings), func() bool {
		found = a.Find(method, substrings...)
		return len(found) > 0
	})
	return found[0]
}

// WaitPost waits for a message posted to a channel with every substring,
// and returns the first.
func (a *API) WaitPost(t testing.TB, substrings ...string) Call {
	t.Helper()
	var found []Call
	a.Wait(t, fmt.Sprintf("a post with %q", substrings), func() bool {
		found = a.Posts(substrings...)
		return len(found) > 0
	})
	return found[0]
}

// WaitEphemeral waits for a private message (chat.postEphemeral) to user
// with every substring.
func (a *API) WaitEphemeral(t testing.TB, user string, substrings ...string) Call {
	t.Helper()
	var found Call
	a.Wait(t, fmt.Sprintf("a private message to %s with %q", user, substrings), func() bool {
		for _, c := range a.Find("chat.postEphemeral", substrings...) {
			if c.OK() && c.Form.Get("user") == user {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// Dump lists every call, for failure messages.
func (a *API) Dump() string {
	var b strings.Builder
	for _, c := range a.Calls("") {
		fmt.Fprintf(&b, "  %s %s channel=%s ts=%s thread_ts=%s user=%s", c.At.Format("15:04:05.000"), c.Method,
			c.Form.Get("channel"), c.Form.Get("ts")+c.TS, c.Form.Get("thread_ts"), c.Form.Get("user"))
		if c.Error != "" {
			fmt.Fprintf(&b, " error=%s", c.Error)
		}
		fmt.Fprintf(&b, " text=%q\n", Truncate(c.Text(), 200))
	}
	return b.String()
}

// Truncate shortens s to n bytes and an ellipsis.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Button is a button of a message's actions block.
type Button struct {
	BlockID  string
	ActionID string
	Value    string
	Text     string
	Style    string
	Confirm  bool // it asks "are you sure?" (a confirm dialog) before it acts
}

// Buttons decodes the buttons of the call's blocks.
func (c Call) Buttons() []Button {
	return buttons(c.Form.Get("blocks"))
}

func buttons(blocksJSON string) []Button {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string          `json:"type"`
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Style    string          `json:"style"`
			Text     json.RawMessage `json:"text"` // an object in a button, a string in a context block
			Confirm  json.RawMessage `json:"confirm"`
		} `json:"elements"`
		Accessory *struct {
			Type     string          `json:"type"`
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Style    string          `json:"style"`
			Text     json.RawMessage `json:"text"` // an object in a button, a string in a context block
			Confirm  json.RawMessage `json:"confirm"`
		} `json:"accessory"`
	}
	if json.Unmarshal([]byte(blocksJSON), &blocks) != nil {
		return nil
	}
	var bs []Button
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.Type == "button" {
				bs = append(bs, Button{BlockID: b.BlockID, ActionID: e.ActionID, Value: e.Value, Text: textOf(e.Text), Style: e.Style,
					Confirm: len(e.Confirm) > 0 && string(e.Confirm) != "null"})
			}
		}
		if e := b.Accessory; e != nil && e.Type == "button" {
			bs = append(bs, Button{BlockID: b.BlockID, ActionID: e.ActionID, Value: e.Value, Text: textOf(e.Text), Style: e.Style,
				Confirm: len(e.Confirm) > 0 && string(e.Confirm) != "null"})
		}
	}
	return bs
}

// textOf is the text of a text object.
func textOf(raw json.RawMessage) string {
	var t struct {
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &t)
	return t.Text
}

// Card is an approval card: a message with an Approve button. It is what
// a click needs.
type Card struct {
	Ticket    string // the Approve button's value
	BlockID   string // the Approve button's block
	Channel   string
	TS        string // the card's message ts
	Text      string // its fallback text
	Blocks    string // its blocks (JSON)
	Requester string // the first user the text mentions (<@U…>)
}

// CardOf returns the approval card a chat.postMessage call posted, if it
// is one.
func CardOf(c Call) (Card, bool) {
	if !strings.Contains(c.Form.Get("blocks"), `"approve"`) {
		return Card{}, false
	}
	for _, b := range c.Buttons() {
		if b.ActionID == "approve" && b.Value != "" {
			card := Card{Ticket: b.Value, BlockID: b.BlockID, Channel: c.Channel(), TS: c.TS,
				Text: c.Form.Get("text"), Blocks: c.Form.Get("blocks")}
			text := c.Text()
			if i := strings.Index(text, "<@"); i >= 0 {
				if j := strings.IndexByte(text[i:], '>'); j > 0 {
					card.Requester = text[i+2 : i+j]
				}
			}
			return card, true
		}
	}
	return Card{}, false
}

// Cards returns the approval cards posted so far, oldest first.
func (a *API) Cards() []Card {
	var cs []Card
	for _, c := range a.Calls("chat.postMessage") {
		if card, ok := CardOf(c); ok && c.OK() {
			cs = append(cs, card)
		}
	}
	return cs
}

// WaitCard waits for the n-th (1-based) approval card.
func (a *API) WaitCard(t testing.TB, n int) Card {
	t.Helper()
	var cs []Card
	a.Wait(t, fmt.Sprintf("approval card %d", n), func() bool {
		cs = a.Cards()
		return len(cs) >= n
	})
	return cs[n-1]
}
