package reliability

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// Scenario 5: Slack answers 429 with Retry-After. The wait is honoured and
// the result is still posted (and the approval card still updated).
func TestSlackRateLimited(t *testing.T) {
	t.Parallel()
	ip := newInproc(t, inprocOpts{executor: true})
	ip.Slack.RateLimit("chat.postMessage", 2, time.Second)
	ip.slash(bottest.UserAsker, bottest.ChanOps, "reset web1")
	m := ip.Slack.WaitPost(t, "web1.default.acme reset")
	limited := ip.Slack.Calls("chat.postMessage (429)")
	if len(limited) != 2 {
		t.Fatalf("429s answered = %d; want 2\n%s", len(limited), ip.dump())
	}
	// Retry-After: 1 twice: at least a second after each 429.
	if gap := limited[1].At.Sub(limited[0].At); gap < time.Second {
		t.Errorf("second try %s after the first 429; Retry-After: 1 asks for at least 1s", gap)
	}
	if gap := m.At.Sub(limited[1].At); gap < time.Second {
		t.Errorf("posted %s after the second 429; Retry-After: 1 asks for at least 1s", gap)
	}
	if n := len(ip.Slack.Find("chat.postMessage", "web1.default.acme reset")); n != 1 {
		t.Errorf("result posted %d times; want once", n)
	}
	if n := signals(ip.fake.Server, "web1"); n != 1 {
		t.Errorf("resets = %d; want 1 (a Slack retry must not repeat the action)", n)
	}

	// The card of an approved purge is updated despite 429s on chat.update.
	ip.slash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	c := ip.Slack.WaitCard(t, 1)
	ip.Slack.RateLimit("chat.update", 2, time.Second)
	if code := ip.click(bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	ip.Slack.WaitPost(t, "web2.default.acme purged")
	waitFor(t, 15*time.Second, "the card's final update", func() bool {
		for _, u := range ip.Slack.Calls("chat.update") {
			if u.Form.Get("ts") == c.TS && strings.Contains(u.Content(), "gone for good") {
				return true
			}
		}
		return false
	}, ip.dump)
	if n := len(ip.Slack.Calls("chat.update (429)")); n != 2 {
		t.Errorf("429s on chat.update = %d; want 2", n)
	}
}
