package bottest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// SlashReply is the JSON body of a slash command's answer.
type SlashReply struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
}

// ViewAnswer is the JSON answer to a view_submission.
type ViewAnswer struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
}

// Slash sends a signed slash command and returns the response and its
// decoded JSON body.
func (b *Bot) Slash(user, channel, text string) (*httptest.ResponseRecorder, SlashReply) {
	b.T.Helper()
	w, body, _ := b.SlashURL(user, channel, text)
	return w, body
}

// SlashURL is Slash, also returning the command's response_url (the
// stand-in's), which shows the acknowledgement until an answer replaces it.
func (b *Bot) SlashURL(user, channel, text string) (*httptest.ResponseRecorder, SlashReply, string) {
	b.T.Helper()
	sc := b.Slack.Slash(user, channel, text)
	w, body := b.Send(Signer.Request("/slack/commands", sc.Body()), text)
	if w.Code == http.StatusOK {
		b.Slack.Acknowledge(sc.ResponseURL, w.Body.Bytes())
	}
	return w, body, sc.ResponseURL
}

// Send serves a slash command request and returns the response and its
// decoded JSON body.
func (b *Bot) Send(r *http.Request, text string) (*httptest.ResponseRecorder, SlashReply) {
	b.T.Helper()
	w := httptest.NewRecorder()
	b.Handler.ServeHTTP(w, r)
	var body SlashReply
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			b.T.Fatalf("slash %q: body is not JSON: %v: %q", text, err, w.Body.String())
		}
	}
	return w, body
}

// MustSlash sends a slash command that must get a 200.
func (b *Bot) MustSlash(user, channel, text string) SlashReply {
	b.T.Helper()
	w, body := b.Slash(user, channel, text)
	if w.Code != http.StatusOK {
		b.T.Fatalf("slash %q = %d; want 200", text, w.Code)
	}
	return body
}

// Click clicks a card's button and returns the status code. An Approve
// that opens the type-the-name modal (an irreversible action) is then
// answered as an approver would: the server's short name typed and
// submitted (the status is the submission's). Press is the click alone.
func (b *Bot) Click(user, channel string, c slacktest.Card, action string) int {
	b.T.Helper()
	code, k := b.Press(user, channel, c, action)
	if code != http.StatusOK || action != slackui.ActionApprove {
		return code
	}
	v, ok := b.Slack.ViewOpenedBy(k.TriggerID)
	if !ok {
		return code
	}
	code, _ = b.Submit(user, v, b.ShortName(c))
	return code
}

// Press clicks a card's button, with a trigger_id of the Slack stand-in's
// (so that it can open a modal), and returns the status and the click.
func (b *Bot) Press(user, channel string, c slacktest.Card, action string) (int, slacktest.Click) {
	b.T.Helper()
	k := b.Slack.Click(user, channel, c, action)
	w := httptest.NewRecorder()
	b.Handler.ServeHTTP(w, Signer.Request("/slack/interactions", k.Body()))
	return w.Code, k
}

// Submit submits modal v as user with name typed in the type-the-name
// input, and returns the status and the answer (zero when the body is
// empty: the modal closes).
func (b *Bot) Submit(user string, v slacktest.View, name string) (int, ViewAnswer) {
	b.T.Helper()
	sub := b.Slack.Submit(user, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: name}})
	w := httptest.NewRecorder()
	b.Handler.ServeHTTP(w, Signer.Request("/slack/interactions", sub.Body()))
	var ans ViewAnswer
	if w.Code == http.StatusOK && w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			b.T.Fatalf("view_submission answered %q: %v", w.Body.String(), err)
		}
	}
	return w.Code, ans
}

// ShortName is the short name of the server of card c's ticket (web1),
// as an approver reads it off the card.
func (b *Bot) ShortName(c slacktest.Card) string {
	b.T.Helper()
	tk, err := b.Store.Get(context.Background(), c.Ticket)
	if err != nil {
		b.T.Fatalf("reading ticket %s: %v", c.Ticket, err)
	}
	short, _, _ := strings.Cut(tk.Server, ".")
	return short
}

// WaitCard waits for the n-th (1-based) approval card, and for its
// ticket to record where the card is (as a person's click comes after
// that: a click before it votes but cannot update the card).
func (b *Bot) WaitCard(n int) slacktest.Card {
	b.T.Helper()
	c := b.Slack.WaitCard(b.T, n)
	b.WaitFor("the ticket to record its card", func() bool {
		tk, err := b.Store.Get(context.Background(), c.Ticket)
		return err == nil && tk.MessageTS == c.TS
	})
	return c
}

// WaitFor waits until cond holds, or fails the test with the Slack calls
// so far.
func (b *Bot) WaitFor(what string, cond func() bool) {
	b.T.Helper()
	b.Slack.Wait(b.T, what, cond)
}

// WaitPost waits for a chat.postMessage containing every substring.
func (b *Bot) WaitPost(substrings ...string) slacktest.Call {
	b.T.Helper()
	return b.Slack.WaitPost(b.T, substrings...)
}

// Post sends a webhook delivery to path with WebhookToken.
func (b *Bot) Post(path string, body []byte) *httptest.ResponseRecorder {
	b.T.Helper()
	w := httptest.NewRecorder()
	b.Handler.ServeHTTP(w, slacktest.HookRequest(path, WebhookToken, body))
	return w
}

// MustPost sends a webhook delivery that must be accepted and returns its
// answer.
func (b *Bot) MustPost(path string, body []byte) monitor.Answer {
	b.T.Helper()
	w := b.Post(path, body)
	if w.Code != http.StatusOK {
		b.T.Fatalf("POST %s = %d %s; want 200", path, w.Code, w.Body.String())
	}
	return HookAnswer(b.T, w)
}

// HookAnswer decodes a webhook's answer.
func HookAnswer(t testing.TB, w *httptest.ResponseRecorder) monitor.Answer {
	t.Helper()
	var a monitor.Answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("webhook answer is not JSON: %v: %q", err, w.Body.String())
	}
	return a
}
