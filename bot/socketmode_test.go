package bot_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
)

// acks records Socket Mode acknowledgements.
type acks struct {
	mu  sync.Mutex
	got map[string]any // envelope ID → payload
}

func (a *acks) ack(req socketmode.Request, payload any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.got == nil {
		a.got = map[string]any{}
	}
	a.got[req.EnvelopeID] = payload
}

func (a *acks) get(id string) (any, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.got[id]
	return p, ok
}

// TestSocketMode drives the Socket Mode dispatch with the events slack-go's
// client delivers: a slash command is acknowledged with its reply as the
// payload, and a click votes through the same core as HTTP.
func TestSocketMode(t *testing.T) {
	h := newHarness(t)
	var a acks
	ctx := context.Background()

	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{
		Type:    socketmode.EventTypeSlashCommand,
		Data:    slack.SlashCommand{Command: "/bytemark", Text: "help", TeamID: bottest.Team, UserID: bottest.UserAsker, ChannelID: bottest.ChanOps},
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-1"},
	}, a.ack)
	p, ok := a.get("env-1")
	if !ok {
		t.Fatal("slash command not acknowledged")
	}
	js, _ := json.Marshal(p)
	if !strings.Contains(string(js), `"response_type":"ephemeral"`) || !strings.Contains(string(js), "purge") {
		t.Errorf("ack payload = %s; want the ephemeral help", js)
	}

	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{
		Type:    socketmode.EventTypeSlashCommand,
		Data:    slack.SlashCommand{Command: "/bytemark", Text: "purge web1", TeamID: bottest.Team, UserID: bottest.UserAsker, ChannelID: bottest.ChanOps},
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-2"},
	}, a.ack)
	b := h.WaitCard(1)

	// Approve on a purge opens the type-the-name modal over the socket
	// too; its submission arrives as an interactive envelope, and its
	// errors go back in the acknowledgement.
	press := h.Slack.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	socketInteraction(t, h, &a, press.Payload(), "env-3")
	if p, ok := a.get("env-3"); !ok || p != nil {
		t.Errorf("the press acknowledged with %v, %v; want an empty acknowledgement", p, ok)
	}
	v, ok := h.Slack.ViewOpenedBy(press.TriggerID)
	if !ok {
		t.Fatalf("the press opened no modal:\n%s", h.Slack.Dump())
	}
	wrong := h.Slack.Submit(bottest.UserAppr1, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: "web2"}})
	socketInteraction(t, h, &a, wrong.Payload(), "env-4")
	p, _ = a.get("env-4")
	if js, _ := json.Marshal(p); !strings.Contains(string(js), `"response_action":"errors"`) || !strings.Contains(string(js), `"`+slackui.BlockConfirmName+`":"That isn't the name`) {
		t.Errorf("a wrong name acknowledged with %s; want errors on the name's block", js)
	}
	if tk, err := h.Store.Get(ctx, b.Ticket); err != nil || len(tk.Approvers) != 0 {
		t.Errorf("ticket after a wrong name = %+v, %v; want no approvals", tk, err)
	}
	right := h.Slack.Submit(bottest.UserAppr1, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: "web1"}})
	socketInteraction(t, h, &a, right.Payload(), "env-5")
	if p, ok := a.get("env-5"); !ok || p != nil {
		t.Errorf("the right name acknowledged with %v, %v; want an empty acknowledgement (the modal closes)", p, ok)
	}
	h.WaitFor("the purge", func() bool { return h.Purges("web1") == 1 })
	h.marker()
	if tk, err := h.Store.Get(ctx, b.Ticket); err != nil || !slices.Equal(tk.Approvers, []string{bottest.UserAppr1}) {
		t.Errorf("ticket after the right name = %+v, %v; want one approval, by %s", tk, err, bottest.UserAppr1)
	}

	// Connection events need no acknowledgement and must not crash.
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeConnecting}, a.ack)
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeEventsAPI, Request: &socketmode.Request{EnvelopeID: "env-6"}}, a.ack)
	if _, ok := a.get("env-6"); !ok {
		t.Error("events_api envelope not acknowledged")
	}
}

// socketInteraction delivers an interaction payload over Socket Mode in
// envelope id.
func socketInteraction(t *testing.T, h *harness, a *acks, payload []byte, id string) {
	t.Helper()
	var ic slack.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		t.Fatal(err)
	}
	slackapp.New(h.Server).SocketEvent(context.Background(), socketmode.Event{
		Type: socketmode.EventTypeInteractive, Data: ic,
		Request: &socketmode.Request{Type: "interactive", EnvelopeID: id},
	}, a.ack)
}

// TestSocketModeRedelivery: Slack redelivers an envelope it thinks was not
// acknowledged; the command behind it must not run twice.
func TestSocketModeRedelivery(t *testing.T) {
	h := newHarness(t)
	var a acks
	ctx := context.Background()
	cmd := slack.SlashCommand{Command: "/bytemark", Text: "purge web1", TeamID: bottest.Team, UserID: bottest.UserAsker, ChannelID: bottest.ChanOps}
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd,
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-dup"}}, a.ack)
	h.WaitCard(1)
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd,
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-dup", RetryAttempt: 1}}, a.ack)
	if p, ok := a.get("env-dup"); !ok {
		t.Error("redelivery not acknowledged")
	} else if js, _ := json.Marshal(p); !strings.Contains(string(js), "already being handled") {
		t.Errorf("redelivery ack = %s; want 'already being handled'", js)
	}
	// A different envelope (from someone else: one person asking twice
	// within repeatWindow is answered that it is already being done) still
	// gets a card: the first one was not lost.
	cmd.UserID = bottest.UserOther
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd,
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-new"}}, a.ack)
	h.WaitCard(2)
	if got := len(h.Slack.Cards()); got != 2 {
		t.Errorf("cards = %d; want 2 (the redelivery must not post one)", got)
	}
}

// TestSocketModeSameTriggerTwice: one slash command (one trigger_id) that
// arrives in two envelopes, as after a reconnection to another replica,
// is queued once.
func TestSocketModeSameTriggerTwice(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Workers = 1 })) // jobs run in queue order
	var a acks
	ctx := context.Background()
	cmd := slack.SlashCommand{Command: "/bytemark", Text: "purge web1", TeamID: bottest.Team, UserID: bottest.UserAsker, ChannelID: bottest.ChanOps, TriggerID: "1337.42.abc"}
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd,
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-a"}}, a.ack)
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd,
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-b"}}, a.ack)
	p, _ := a.get("env-b")
	if js, _ := json.Marshal(p); !strings.Contains(string(js), "already being handled") {
		t.Errorf("second envelope acknowledged with %s; want 'already being handled'", js)
	}
	// Someone else's purge of web2 comes after it in the queue: once its
	// card is posted, a second card for web1 would have been too.
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand,
		Data:    slack.SlashCommand{Command: "/bytemark", Text: "purge web2", TeamID: bottest.Team, UserID: bottest.UserOther, ChannelID: bottest.ChanOps, TriggerID: "1337.43.def"},
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-c"}}, a.ack)
	h.WaitFor("the card for web2", func() bool { return len(h.Slack.Find("chat.postMessage", "purge web2")) == 1 })
	if n := len(h.Slack.Find("chat.postMessage", "purge web1")); n != 1 {
		t.Errorf("cards for web1 = %d; want 1", n)
	}
}
