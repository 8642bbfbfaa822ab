package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

const otherTeam = "TEVIL0001"

// TestOtherTeamRefused: a request signed with the app's secret (an app
// installed in several workspaces shares it) but from another workspace
// is refused over HTTP and Socket Mode: nothing runs and no vote counts.
func TestOtherTeamRefused(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Workers = 1 }))
	ctx := context.Background()

	cmd := slacktest.Slash(bottest.UserAsker, bottest.ChanOps, "restart web1")
	cmd.TeamID = otherTeam
	body := cmd.Body()
	w, r := h.Send(bottest.Signer.Request("/slack/commands", body), "restart web1")
	if w.Code != http.StatusOK || r.ResponseType != "ephemeral" || !strings.Contains(r.Text, "only serves its own Slack workspace") {
		t.Errorf("slash command from another workspace = %d %+v; want an ephemeral refusal", w.Code, r)
	}

	// A card from the bot's own workspace, clicked from another.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b := h.WaitCard(1)
	click := slacktest.ClickOn(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	click.TeamID = otherTeam
	cw := httptest.NewRecorder()
	h.Handler.ServeHTTP(cw, bottest.Signer.Request("/slack/interactions", click.Body()))
	if cw.Code != http.StatusUnauthorized {
		t.Errorf("click from another workspace = %d; want 401", cw.Code)
	}

	var a acks
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{
		Type:    socketmode.EventTypeSlashCommand,
		Data:    slack.SlashCommand{Command: "/bytemark", Text: "stop web1", TeamID: otherTeam, UserID: bottest.UserAsker, ChannelID: bottest.ChanOps, TriggerID: "1.2.sock"},
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-other-1"},
	}, a.ack)
	p, ok := a.get("env-other-1")
	js, _ := json.Marshal(p)
	if !ok || !strings.Contains(string(js), "only serves its own Slack workspace") {
		t.Errorf("socket mode slash command from another workspace acknowledged with %s; want the refusal", js)
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal(click.Payload(), &ic); err != nil {
		t.Fatal(err)
	}
	slackapp.New(h.Server).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeInteractive, Data: ic,
		Request: &socketmode.Request{Type: "interactive", EnvelopeID: "env-other-2"}}, a.ack)
	if _, ok := a.get("env-other-2"); !ok {
		t.Error("socket mode click from another workspace not acknowledged")
	}

	h.marker()
	if n := h.signals("web1"); n != 0 {
		t.Errorf("web1 got %d power signals; want none", n)
	}
	if n := h.Purges("web2"); n != 0 {
		t.Errorf("web2 purged %d times; want none", n)
	}
	tk, err := h.Store.Get(ctx, b.Ticket)
	if err != nil || tk.State != "pending" || len(tk.Approvers) != 0 {
		t.Errorf("ticket after clicks from another workspace = %+v, %v; want pending without approvals", tk, err)
	}
}

// TestLearnTeam: without SLACK_TEAM_ID the workspace comes from auth.test;
// while auth.test fails every Slack request is refused (the bot can't tell
// its own people from others), and once it answers, the bot's own
// workspace is served and others are refused.
func TestLearnTeam(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.TeamID = "" }))
	h.Slack.FailWith("auth.test", "fatal_error")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.Server.LearnTeam(ctx, slackapp.AuthTest(h.Slack.Client()))
	if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "help"); !strings.Contains(r.Text, "hasn't confirmed its Slack workspace") {
		t.Errorf("before the workspace is known: %q; want the bot's still starting", r.Text)
	}
	h.Slack.FailWith("auth.test", "")
	h.WaitFor("the workspace learned", func() bool { return h.Server.TeamID() == bottest.Team })
	if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "help"); !strings.Contains(r.Text, "purge") {
		t.Errorf("once known, help answered %q", r.Text)
	}
	cmd := slacktest.Slash(bottest.UserAsker, bottest.ChanOps, "help")
	cmd.TeamID = otherTeam
	body := cmd.Body()
	if _, r := h.Send(bottest.Signer.Request("/slack/commands", body), "help"); !strings.Contains(r.Text, "only serves its own") {
		t.Errorf("another workspace once known: %q; want the refusal", r.Text)
	}
}
