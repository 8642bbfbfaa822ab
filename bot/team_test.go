package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
)

const otherTeam = "TEVIL0001"

// fromTeam rewrites a slash command body as if typed in team.
func fromTeam(t *testing.T, body []byte, team string) []byte {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	v.Set("team_id", team)
	return []byte(v.Encode())
}

// clickFromTeam rewrites a click's payload as if clicked in team.
func clickFromTeam(t *testing.T, body []byte, team string) []byte {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(v.Get("payload")), &p); err != nil {
		t.Fatal(err)
	}
	p["team"].(map[string]any)["id"] = team
	p["user"].(map[string]any)["team_id"] = team
	js, _ := json.Marshal(p)
	return []byte(url.Values{"payload": {string(js)}}.Encode())
}

// TestOtherTeamRefused: a request signed with the app's secret (an app
// installed in several workspaces shares it) but from another workspace
// is refused over HTTP and Socket Mode: nothing runs and no vote counts.
func TestOtherTeamRefused(t *testing.T) {
	h := newHarness(t, withConfig(func(c *bot.Config) { c.Workers = 1 }))
	ctx := context.Background()

	body := fromTeam(t, h.slashBody(userAsker, chanOps, "restart web1"), otherTeam)
	w, r := h.send(signedRequest(t, testSecret, "/slack/commands", body), "restart web1")
	if w.Code != http.StatusOK || r.ResponseType != "ephemeral" || !strings.Contains(r.Text, "only serves its own Slack workspace") {
		t.Errorf("slash command from another workspace = %d %+v; want an ephemeral refusal", w.Code, r)
	}

	// A card from the bot's own workspace, clicked from another.
	h.mustSlash(userAsker, chanOps, "purge web2")
	b := h.waitCard(1)
	cw := httptest.NewRecorder()
	h.h.ServeHTTP(cw, signedRequest(t, testSecret, "/slack/interactions", clickFromTeam(t, h.clickPayload(userAppr1, chanOps, b, slackui.ActionApprove), otherTeam)))
	if cw.Code != http.StatusUnauthorized {
		t.Errorf("click from another workspace = %d; want 401", cw.Code)
	}

	var a acks
	slackapp.New(h.s).SocketEvent(ctx, socketmode.Event{
		Type:    socketmode.EventTypeSlashCommand,
		Data:    slack.SlashCommand{Command: "/bytemark", Text: "stop web1", TeamID: otherTeam, UserID: userAsker, ChannelID: chanOps, TriggerID: "1.2.sock"},
		Request: &socketmode.Request{Type: "slash_commands", EnvelopeID: "env-other-1"},
	}, a.ack)
	p, ok := a.get("env-other-1")
	js, _ := json.Marshal(p)
	if !ok || !strings.Contains(string(js), "only serves its own Slack workspace") {
		t.Errorf("socket mode slash command from another workspace acknowledged with %s; want the refusal", js)
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal(readTestdata(t, "block_actions.json"), &ic); err != nil {
		t.Fatal(err)
	}
	ic.User.ID, ic.Team.ID = userAppr1, otherTeam
	ic.Container.ChannelID, ic.Channel.ID = chanOps, chanOps
	ic.ActionCallback.BlockActions[0].ActionID = slackui.ActionApprove
	ic.ActionCallback.BlockActions[0].Value = b.ticket
	ic.ActionCallback.BlockActions[0].BlockID = b.blockID
	slackapp.New(h.s).SocketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeInteractive, Data: ic,
		Request: &socketmode.Request{Type: "interactive", EnvelopeID: "env-other-2"}}, a.ack)
	if _, ok := a.get("env-other-2"); !ok {
		t.Error("socket mode click from another workspace not acknowledged")
	}

	h.marker()
	if n := h.signals("web1"); n != 0 {
		t.Errorf("web1 got %d power signals; want none", n)
	}
	if n := h.purges("web2"); n != 0 {
		t.Errorf("web2 purged %d times; want none", n)
	}
	tk, err := h.store.Get(ctx, b.ticket)
	if err != nil || tk.State != "pending" || len(tk.Approvers) != 0 {
		t.Errorf("ticket after clicks from another workspace = %+v, %v; want pending without approvals", tk, err)
	}
}

// TestLearnTeam: without SLACK_TEAM_ID the workspace comes from auth.test;
// while auth.test fails every Slack request is refused (the bot can't tell
// its own people from others), and once it answers, the bot's own
// workspace is served and others are refused.
func TestLearnTeam(t *testing.T) {
	h := newHarness(t, withConfig(func(c *bot.Config) { c.TeamID = "" }))
	h.slack.mu.Lock()
	h.slack.failWith["auth.test"] = "fatal_error"
	h.slack.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.s.LearnTeam(ctx, slackapp.AuthTest(h.slack.client()))
	if r := h.mustSlash(userAsker, chanOps, "help"); !strings.Contains(r.Text, "hasn't confirmed its Slack workspace") {
		t.Errorf("before the workspace is known: %q; want the bot's still starting", r.Text)
	}
	h.slack.mu.Lock()
	delete(h.slack.failWith, "auth.test")
	h.slack.mu.Unlock()
	h.waitFor("the workspace learned", func() bool { return h.s.TeamID() == testTeam })
	if r := h.mustSlash(userAsker, chanOps, "help"); !strings.Contains(r.Text, "purge") {
		t.Errorf("once known, help answered %q", r.Text)
	}
	body := fromTeam(t, h.slashBody(userAsker, chanOps, "help"), otherTeam)
	if _, r := h.send(signedRequest(t, testSecret, "/slack/commands", body), "help"); !strings.Contains(r.Text, "only serves its own") {
		t.Errorf("another workspace once known: %q; want the refusal", r.Text)
	}
}
