package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestSlackPosterRetriesRateLimited checks that a 429 is retried after
// Retry-After and the message is posted once Slack lets it through.
func TestSlackPosterRetriesRateLimited(t *testing.T) {
	api := slacktest.New(t, slacktest.Options{TeamID: testTeam})
	p := slackapp.NewPoster(api.Client(), nil)
	api.RateLimit("chat.postMessage", 2, time.Second)
	start := time.Now()
	ts, err := p.Post(context.Background(), "C1", "", slackui.Message{Text: "hello"})
	if err != nil {
		t.Fatalf("Post: %v\n%s", err, api.Dump())
	}
	if ts == "" {
		t.Errorf("Post returned an empty ts")
	}
	if got, want := len(api.Calls("chat.postMessage (429)")), 2; got != want {
		t.Errorf("429 answers = %d; want %d", got, want)
	}
	if got, want := len(api.Calls("chat.postMessage")), 1; got != want {
		t.Errorf("successful posts = %d; want %d", got, want)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("Post took %s; want at least 2s (two Retry-After: 1)", took)
	}
	calls := api.Calls("")
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Errorf("retried after %s; want at least Retry-After (1s)", gap)
	}
}

// TestSlackPosterGivesUp checks that retries are bounded and that errors
// Slack means (channel_not_found) are not retried.
func TestSlackPosterGivesUp(t *testing.T) {
	api := slacktest.New(t, slacktest.Options{TeamID: testTeam})
	p := slackapp.NewPoster(api.Client(), nil)
	p.Sleep = func(context.Context, time.Duration) error { return nil }
	api.RateLimit("chat.update", 100, time.Second)
	if err := p.Update(context.Background(), "C1", "1.2", slackui.Message{Text: "x"}); err == nil {
		t.Errorf("Update with Slack always rate limiting = nil error; want one")
	}
	if got, want := len(api.Calls("chat.update (429)")), 5; got != want {
		t.Errorf("attempts = %d; want %d", got, want)
	}
	api.FailWith("chat.postEphemeral", "channel_not_found")
	if err := p.Ephemeral(context.Background(), "C1", "U1", slackui.Message{Text: "x"}); err == nil {
		t.Errorf("Ephemeral to a missing channel = nil error; want one")
	}
	if got, want := len(api.Calls("chat.postEphemeral")), 1; got != want {
		t.Errorf("attempts for channel_not_found = %d; want %d", got, want)
	}
}
