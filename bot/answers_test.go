package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// waitAnswer waits for an answer sent through a command's response_url
// (any command's) with every substring: what a read's asker alone sees.
func (h *harness) waitAnswer(substrings ...string) slacktest.Call {
	h.T.Helper()
	return h.Slack.WaitResponse(h.T, "", substrings...)
}

// shown waits until the response_url url shows one message, with every
// substring, in place of the command's acknowledgement, and returns it.
func (h *harness) shown(url string, substrings ...string) slacktest.Message {
	h.T.Helper()
	shown := h.Slack.WaitShown(h.T, url, substrings...)
	if len(shown) != 1 || shown[0].ResponseType != "ephemeral" {
		h.T.Fatalf("the command shows %d messages: %+v; want one, ephemeral, in place of its acknowledgement", len(shown), shown)
	}
	return shown[0]
}

// TestAnswersReplaceTheAcknowledgement (issue 15, point 1): every command
// is acknowledged privately, and its answer replaces the acknowledgement
// through its response_url, so nothing is left behind. A read's answer is
// the asker's alone; a change's result is posted in the channel, and the
// asker's acknowledgement says so.
func TestAnswersReplaceTheAcknowledgement(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct{ text, ack, answer string }{
		{"list", "Working on `list`", "3 servers in the default group"},
		{"show web1", "Working on `show web1`", "web1.default.acme is on"},
		{"discs web1", "Working on `discs web1`", "root"},
		{"images", "Working on `images`", "7 images"},
	} {
		_, ack, url := h.SlashURL(bottest.UserAsker, bottest.ChanOps, c.text)
		if ack.ResponseType != "ephemeral" || !strings.Contains(ack.Text, c.ack) {
			t.Errorf("%s acknowledged with %+v; want an ephemeral %q", c.text, ack, c.ack)
		}
		if m := h.shown(url, c.answer); strings.Contains(m.Text, "Working on") || strings.Contains(m.Text, "<@"+bottest.UserAsker+">") {
			t.Errorf("%s's answer = %q; want the answer alone, for the asker", c.text, m.Text)
		}
	}
	for _, text := range []string{"help", "approvals", "audit"} {
		if _, r, _ := h.SlashURL(bottest.UserAsker, bottest.ChanOps, text); r.ResponseType != "ephemeral" || r.Text == "" {
			t.Errorf("%s answered %+v; want an ephemeral answer", text, r)
		}
	}
	if posts := h.Slack.Calls("chat.postMessage"); len(posts) != 0 {
		t.Errorf("reads posted %d messages in the channel; want none:\n%s", len(posts), h.Slack.Dump())
	}

	_, ack, url := h.SlashURL(bottest.UserAsker, bottest.ChanOps, "restart web1")
	if ack.ResponseType != "ephemeral" || !strings.Contains(ack.Text, "Working on `restart web1`") {
		t.Errorf("restart acknowledged with %+v; want an ephemeral Working on", ack)
	}
	post := h.WaitPost(":white_check_mark:", "web1", "restarted", bottest.UserAsker)
	if post.Channel() != bottest.ChanOps {
		t.Errorf("restart's result posted in %q; want %q", post.Channel(), bottest.ChanOps)
	}
	h.shown(url, "The result of `restart web1` is posted in this channel.")

	// A purge's acknowledgement becomes where its card is.
	_, _, url = h.SlashURL(bottest.UserAsker, bottest.ChanOps, "purge web2")
	card := h.WaitCard(1)
	h.shown(url, "Asked for approval of `purge web2.default.acme`", card.Ticket)
}

// privateChan and dmChan are a private channel and a DM the bot is not
// in: chat.postMessage there answers channel_not_found.
const (
	privateChan = "GPRIVATE1"
	dmChan      = "D0DIRECT1"
)

// TestWhereTheBotCantPost (issue 15, point 2): in a private channel or a
// DM the bot is not in, a read is answered, a change's result reaches the
// person who asked through the response_url (saying no one else saw it
// and how to fix that), and a request that needs an approval card is told
// why it can't be asked there, with nothing opened or queued.
func TestWhereTheBotCantPost(t *testing.T) {
	h := newHarness(t)
	for _, ch := range []string{privateChan, dmChan} {
		h.Slack.ChannelError(ch, "channel_not_found")
	}

	_, _, url := h.SlashURL(bottest.UserAsker, dmChan, "list")
	h.shown(url, "3 servers")

	_, _, url = h.SlashURL(bottest.UserAsker, privateChan, "restart web1")
	m := h.shown(url, "web1.default.acme restarted", "Only you can see this", "/invite @bytemark")
	if !strings.Contains(m.Blocks, "root") {
		t.Errorf("the result shown to the asker lacks the server's details: %+v", m)
	}
	h.WaitFor("the failed post in the private channel", func() bool {
		for _, c := range h.Slack.Calls("chat.postMessage") {
			if c.Channel() == privateChan && c.Error == "channel_not_found" {
				return true
			}
		}
		return false
	})
	if n := h.signals("web1"); n != 1 {
		t.Errorf("web1 got %d power signals; want 1 (restarted once)", n)
	}

	for _, ch := range []string{privateChan, dmChan} {
		_, _, url = h.SlashURL(bottest.UserAsker, ch, "purge web2")
		h.shown(url, "needs approval", "can't post an approval card here", "Nothing was done", "/invite @bytemark", "<#"+bottest.ChanOps+">")
	}
	pending, err := h.Store.Pending(context.Background())
	if err != nil || len(pending) != 0 {
		t.Errorf("pending tickets = %v, %v; want none", pending, err)
	}
	es, err := h.Store.AuditLog(context.Background(), "", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Outcome == "requested" {
			t.Errorf("a ticket was opened: %+v", e)
		}
	}
	if len(h.Slack.Cards()) != 0 || h.Purges("web2") != 0 {
		t.Errorf("a card was posted or web2 purged:\n%s", h.Slack.Dump())
	}
}

// TestSocketModeAnswersThroughResponseURL: a Socket Mode slash command
// carries a response_url too, and its answer goes there.
func TestSocketModeAnswersThroughResponseURL(t *testing.T) {
	h := newHarness(t)
	var a acks
	sc := h.Slack.Slash(bottest.UserAsker, privateChan, "show web1")
	h.Slack.ChannelError(privateChan, "channel_not_found")
	slackapp.New(h.Server).SocketEvent(context.Background(), socketmode.Event{
		Type: socketmode.EventTypeSlashCommand,
		Data: slack.SlashCommand{Command: "/bytemark", Text: sc.Text, TeamID: bottest.Team, UserID: bottest.UserAsker, ChannelID: privateChan,
			ResponseURL: sc.ResponseURL, TriggerID: sc.TriggerID},
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-answers"},
	}, a.ack)
	if _, ok := a.get("env-answers"); !ok {
		t.Fatal("slash command not acknowledged")
	}
	h.Slack.WaitShown(t, sc.ResponseURL, "web1.default.acme is on")
}

// TestFinishedCards (issue 15, point 3): the Approve dialog says what will
// happen and whether it can be undone; a finished card says its outcome
// first, keeps no buttons and no way to withdraw it, and shows the server
// as it is now.
func TestFinishedCards(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) {
		c.Policy, _ = commands.ParsePolicy("delete,stop")
	}))
	confirms := map[string][]string{
		"purge web2":  {}, // the type-the-name box says it instead (below)
		"delete web1": {"deletes", "`undelete` brings it back"},
		"stop db1":    {"powers off", "`start` powers it on again"},
	}
	n := 0
	for text, want := range confirms {
		h.MustSlash(bottest.UserAsker, bottest.ChanOps, text)
		n++
		card := h.WaitCard(n)
		for _, w := range want {
			if !strings.Contains(slacktest.UnescapeJSON(card.Blocks), w) {
				t.Errorf("%s's Approve dialog lacks %q: %s", text, w, card.Blocks)
			}
		}
		if strings.Contains(card.Blocks, "It cannot be undone") && text != "purge web2" {
			t.Errorf("%s's dialog says it cannot be undone", text)
		}
	}

	purge := h.Slack.Cards()[0]
	for _, c := range h.Slack.Cards() {
		if strings.Contains(c.Text, "purge web2") {
			purge = c
		}
	}
	if strings.Contains(purge.Blocks, `"confirm"`) {
		t.Errorf("purge web2's Approve has a confirm dialog; the type-the-name box asks instead: %s", purge.Blocks)
	}
	_, k := h.Press(bottest.UserAppr1, bottest.ChanOps, purge, slackui.ActionApprove)
	v, ok := h.Slack.ViewOpenedBy(k.TriggerID)
	if !ok {
		t.Fatal("Approve on purge web2 opened no box")
	}
	for _, w := range []string{"can't be undone", "type"} {
		if !strings.Contains(slacktest.UnescapeJSON(v.Blocks), w) {
			t.Errorf("purge web2's box lacks %q: %s", w, v.Blocks)
		}
	}
	h.Submit(bottest.UserAppr1, v, "web2")
	done := h.Slack.WaitCall(t, "chat.update", "Done: purge web2.default.acme")
	if len(done.Buttons()) != 0 || done.Has("to withdraw it") || done.Has("Power*\\non") {
		t.Errorf("the finished card keeps buttons, the withdraw line or the power: %s", done.BlocksJSON())
	}
	if !done.Has("none: purged") {
		t.Errorf("the finished card doesn't show the server purged: %s", done.BlocksJSON())
	}
	blocks := done.Blocks().BlockSet
	if len(blocks) < 2 {
		t.Fatalf("the finished card has %d blocks", len(blocks))
	}
	if s, ok := blocks[1].(*slack.SectionBlock); !ok || s.Text == nil || !strings.Contains(s.Text.Text, "purged") {
		t.Errorf("the finished card doesn't say its outcome first: %s", done.BlocksJSON())
	}
}

// TestTicketRecordsItsCard: a ticket exists only with its card recorded,
// so a click as soon as the card shows finds the card to update (the
// vote used to be counted without the card showing it).
func TestTicketRecordsItsCard(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	card := h.Slack.WaitCard(t, 1) // not waitCard: no wait for the ticket
	var tk approvals.Ticket
	h.WaitFor("the ticket", func() bool {
		var err error
		tk, err = h.Store.Get(context.Background(), card.Ticket)
		if errors.Is(err, approvals.ErrNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	})
	if tk.MessageTS != card.TS || tk.MessageChannel != bottest.ChanOps {
		t.Errorf("the ticket's card = %s %s; want %s %s from the moment it exists", tk.MessageChannel, tk.MessageTS, bottest.ChanOps, card.TS)
	}
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, card, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("click = %d", code)
	}
	h.Slack.WaitCall(t, "chat.update", "Approved by <@"+bottest.UserAppr1+">")
}

// TestClickBeforeTicketOpens: a card goes up a moment before its ticket
// is opened; a click in that moment waits for the ticket and counts, and
// the card shows it.
func TestClickBeforeTicketOpens(t *testing.T) {
	rdb := redistest.Client(t)
	release := make(chan struct{})
	var votes atomic.Int32
	redistest.OnCommand(rdb, func(ctx context.Context, cmd redis.Cmder) {
		args := fmt.Sprint(cmd.Args()...)
		switch {
		case strings.Contains(args, "snapshot"): // the submit script: held
			select {
			case <-release:
			case <-ctx.Done():
			case <-t.Context().Done():
			}
		case strings.HasPrefix(strings.ToLower(args), "hgetall") && votes.Add(1) == 1:
			// The click reads the ticket while it isn't opened yet: the
			// submit goes on, and the click must wait for it.
			close(release)
		}
	})
	h := newHarness(t, bottest.WithRedis(rdb))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	card := h.Slack.WaitCard(t, 1)
	clicked := make(chan int, 1)
	go func() { clicked <- h.Click(bottest.UserAppr1, bottest.ChanOps, card, slackui.ActionApprove) }()
	if code := <-clicked; code != http.StatusOK {
		t.Fatalf("click = %d", code)
	}
	h.Slack.WaitCall(t, "chat.update", "Approved by <@"+bottest.UserAppr1+">")
	h.WaitFor("the purge", func() bool { return h.Purges("web1") == 1 })
	if n := len(h.Slack.Find("chat.postEphemeral", "no longer exists")); n != 0 {
		t.Errorf("the early click was told the request doesn't exist")
	}
}
