package slackapp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestPosterRespond: an answer goes to the command's response_url, as
// Slack takes it (ephemeral, replacing the acknowledgement); a URL on any
// other host than Slack's (the Web API's, or its hooks host) is never
// posted to.
func TestPosterRespond(t *testing.T) {
	api := slacktest.New(t, slacktest.Options{})
	p := slackapp.NewPoster(api.Client(), nil)
	p.APIURL = api.URL()
	ctx := context.Background()
	sc := api.Slash("U1", "C1", "list")
	api.Acknowledge(sc.ResponseURL, []byte(`{"response_type":"ephemeral","text":"Working on it"}`))
	if err := p.Respond(ctx, sc.ResponseURL, bot.Response{Message: slackui.Text("3 servers"), Replace: true}); err != nil {
		t.Fatalf("Respond: %v\n%s", err, api.Dump())
	}
	if got := api.Responses(sc.ResponseURL); len(got) != 1 || got[0].Text != "3 servers" || got[0].ResponseType != "ephemeral" {
		t.Errorf("the command shows %+v; want the answer alone, ephemeral", got)
	}
	for _, u := range []string{
		slacktest.Slash("U1", "C1", "list").ResponseURL, // hooks.slack.com, but the API is the stand-in
		"https://evil.example/commands/T1/1/x",
		"http://user:pw@" + api.URL()[len("http://"):] + "response/x",
	} {
		if err := p.Respond(ctx, u, bot.Response{Message: slackui.Text("secret")}); err == nil {
			t.Errorf("Respond(%q) succeeded; want it refused", u)
		}
	}
	if n := len(api.Calls("response_url")); n != 1 {
		t.Errorf("%d response_url posts; want 1", n)
	}
	// By default (Slack's own API) only hooks.slack.com is Slack's.
	q := slackapp.NewPoster(api.Client(), nil)
	if err := q.Respond(ctx, sc.ResponseURL, bot.Response{Message: slackui.Text("x")}); err == nil {
		t.Errorf("a poster for slack.com posted to the stand-in's URL")
	}
}

// TestPosterCantPost: Slack's answers for a channel the bot can't post in
// come back as bot.ErrCantPost.
func TestPosterCantPost(t *testing.T) {
	api := slacktest.New(t, slacktest.Options{})
	p := slackapp.NewPoster(api.Client(), nil)
	for _, e := range []string{"channel_not_found", "not_in_channel", "is_archived"} {
		api.ChannelError("GPRIV", e)
		if _, err := p.Post(context.Background(), "GPRIV", "", slackui.Text("x")); !errors.Is(err, bot.ErrCantPost) {
			t.Errorf("Post where Slack says %s = %v; want ErrCantPost", e, err)
		}
	}
	api.ChannelError("GPRIV", "")
	api.FailWith("chat.postMessage", "invalid_blocks")
	if _, err := p.Post(context.Background(), "GPRIV", "", slackui.Text("x")); err == nil || errors.Is(err, bot.ErrCantPost) {
		t.Errorf("Post with invalid_blocks = %v; want an error that isn't ErrCantPost", err)
	}
}
