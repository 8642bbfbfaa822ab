package slackapp_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestSlackPosterRetriesRateLimited checks that a 429 is retried after
// Retry-After and the message is posted once Slack lets it through. The
// poster's pause is the test's: it records what it was asked to wait.
func TestSlackPosterRetriesRateLimited(t *testing.T) {
	api := slacktest.New(t, slacktest.Options{})
	p := slackapp.NewPoster(api.Client(), nil)
	var mu sync.Mutex
	var slept []time.Duration
	p.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return ctx.Err()
	}
	api.RateLimit("chat.postMessage", 2, 3*time.Second)
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
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 2 {
		t.Fatalf("the poster paused %d times (%v); want twice, once after each 429", len(slept), slept)
	}
	for i, d := range slept {
		if d < 3*time.Second {
			t.Errorf("pause %d after a 429 = %s; want at least Retry-After (3s)", i+1, d)
		}
	}
	calls := api.Calls("")
	if calls[0].Method != "chat.postMessage (429)" || calls[1].Method != "chat.postMessage (429)" || calls[2].Method != "chat.postMessage" {
		t.Errorf("calls = %s; want two 429s, then the post", api.Dump())
	}
}

// TestSlackPosterGivesUp checks that retries are bounded and that errors
// Slack means (channel_not_found) are not retried.
func TestSlackPosterGivesUp(t *testing.T) {
	api := slacktest.New(t, slacktest.Options{})
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
