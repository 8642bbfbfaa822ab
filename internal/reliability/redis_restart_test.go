package reliability

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// Scenario 1: Redis is killed (SIGKILL) and restarted, with append-only
// persistence, in the middle of a flow. The pending ticket survives; while
// Redis is down commands get a clear "temporarily unavailable" answer
// within three seconds, webhooks get 503 and /readyz fails; once Redis is
// back the bot recovers by itself.
func TestRedisKilledAndRestarted(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret, token = "reliability-signing-secret", "reliability-webhook-token"
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "rel1:"))
	dump := func() string { return slack.Dump() + "\n--- bot\n" + bot.logText() }

	// Mid-flow: a purge waits for approval.
	if code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web1"); code != http.StatusOK {
		t.Fatalf("purge web1 = %d %s", code, body)
	}
	c := slack.WaitCard(t, 1)
	// The card goes up a moment before its ticket is opened: wait for the
	// ticket (listed as pending) before Redis dies.
	waitFor(t, 10*time.Second, "the card's ticket opened", func() bool {
		_, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "approvals")
		return strings.Contains(string(body), c.Ticket)
	}, dump)

	rds.kill9()

	timed := func(what string, f func() (int, []byte)) (int, []byte) {
		t.Helper()
		start := time.Now()
		code, body := f()
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s took %s while Redis was down; want under 3s", what, took)
		}
		return code, body
	}
	// Commands: a clear answer, fast.
	for _, cmd := range []string{"restart web2", "approvals", "audit web1", "list"} {
		code, body := timed(cmd, func() (int, []byte) { return bot.slash(secret, bottest.UserAsker, bottest.ChanOps, cmd) })
		var r slashReply
		json.Unmarshal(body, &r)
		if code != http.StatusOK || !strings.Contains(r.Text, "temporarily unavailable") {
			t.Errorf("%q while Redis is down = %d %s; want 200 and 'temporarily unavailable'", cmd, code, body)
		}
	}
	// A click: answered 200 at once, and the voter is told privately.
	if code, _ := timed("approve click", func() (int, []byte) { return bot.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve") }); code != http.StatusOK {
		t.Errorf("click while Redis is down = %d; want 200", code)
	}
	waitFor(t, 10*time.Second, "a private 'temporarily unavailable' to the voter", func() bool {
		for _, e := range slack.Find("chat.postEphemeral", "temporarily unavailable") {
			if e.Form.Get("user") == bottest.UserAppr1 {
				return true
			}
		}
		return false
	}, dump)
	// Webhooks: 503, so that Alertmanager retries.
	if code, body := timed("webhook", func() (int, []byte) { return bot.hook(token, alertBody("web2", 0, 1)) }); code != http.StatusServiceUnavailable {
		t.Errorf("webhook while Redis is down = %d %s; want 503", code, body)
	}
	// Readiness fails.
	if code, _ := timed("/readyz", func() (int, []byte) { return bot.get("/readyz"), nil }); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while Redis is down = %d; want 503", code)
	}
	if code := bot.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while Redis is down = %d; want 200 (the process is alive)", code)
	}
	if bottest.Purges(fake.Server, "web1") != 0 || bottest.Writes(fake.Server) != 0 {
		t.Fatalf("Bytemark writes while Redis was down: %d", bottest.Writes(fake.Server))
	}

	rds.start() // same port, same directory: the AOF is replayed

	// The bot recovers by itself.
	waitFor(t, 20*time.Second, "/readyz to pass again", func() bool { return bot.get("/readyz") == http.StatusOK }, dump)
	// The pending ticket survived.
	code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "approvals")
	if code != http.StatusOK || !strings.Contains(string(body), c.Ticket) {
		t.Errorf("approvals after the restart = %d %s; want ticket %s listed", code, body, c.Ticket)
	}
	if code, _ := bot.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve after the restart = %d", code)
	}
	slack.WaitPost(t, "web1.default.acme purged")
	if n := bottest.Purges(fake.Server, "web1"); n != 1 {
		t.Errorf("purge calls = %d; want 1", n)
	}
	// Commands and webhooks work again.
	code, body = bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "restart web2")
	if code != http.StatusOK || strings.Contains(string(body), "unavailable") {
		t.Errorf("restart web2 after the restart = %d %s", code, body)
	}
	if code, body := bot.hook(token, alertBody("web2", 1, 1)); code != http.StatusOK {
		t.Errorf("webhook after the restart = %d %s; want 200", code, body)
	}
}
