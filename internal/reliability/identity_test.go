package reliability

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// Scenario: one server, one identity. Aliases of web1 (ID 1001) don't get
// around its guards in a running bot: a reboot by webhook of
// web1.default.acme holds later alerts for 1001.default.acme or 1001 in the
// reboot cooldown, and two manual restarts through different aliases take
// the same per-server lock, so they never overlap.
func TestAliasesShareGuards(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret, token = "reliability-signing-secret", "reliability-webhook-token"
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "relid:", "REBOOT_COOLDOWN=15m"))
	dump := func() string { return bot.logText() + "\n" + slack.Dump() }

	// The cooldown.
	if code, body := bot.hook(token, alertBody("web1.default.acme", 0, 1)); code != http.StatusOK {
		t.Fatalf("first delivery = %d %s", code, body)
	}
	slack.WaitPost(t, "web1.default.acme rebooted by reset")
	for seq, alias := range []string{"1001.default.acme", "1001", "web1.11.acme", "web1.default.acme.uk0.bigv.io"} {
		code, body := bot.hook(token, alertBody(alias, seq+1, 1))
		var ans struct{ Decisions map[string]int }
		if code != http.StatusOK || json.Unmarshal(body, &ans) != nil || ans.Decisions["cooldown"] != 1 {
			t.Errorf("delivery for %s = %d %s; want it held by the cooldown", alias, code, body)
		}
	}
	slack.WaitPost(t, "Not rebooting `web1.default.acme`", "cooldown")
	if n := signals(fake.Server, "web1") + signals(fake.Server, "1001"); n != 1 {
		t.Errorf("reboots of web1 = %d; want 1", n)
	}

	// The lock: two restarts by two names, asked at once. Each shuts the
	// server down (autoreboot off, ACPI powerdown), polls until it is off
	// and starts it; the second may start only after the first is done.
	fake.ResetRequests()
	for _, name := range []string{"web1", "1001"} {
		if code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "restart "+name); code != http.StatusOK {
			t.Fatalf("restart %s = %d %s", name, code, body)
		}
	}
	waitFor(t, 40*time.Second, "both restarts to end", func() bool {
		return len(slack.Find("chat.postMessage", "restarted"))+len(slack.Find("chat.postMessage", ":x:", "restart")) == 2
	}, dump)
	if n := len(slack.Find("chat.postMessage", "web1.default.acme restarted")); n != 2 {
		t.Errorf("%d restarts of web1.default.acme reported; want 2:\n%s", n, slack.Dump())
	}
	var steps []string
	for _, r := range fake.Requests() {
		if r.Method == http.MethodGet || !(strings.Contains(r.Path, "/virtual_machines/web1") || strings.Contains(r.Path, "/virtual_machines/1001")) {
			continue
		}
		switch {
		case strings.Contains(r.Body, "powerdown"):
			steps = append(steps, "powerdown")
		case strings.Contains(r.Body, `"power_on":true`):
			steps = append(steps, "start")
		case strings.Contains(r.Body, `"autoreboot_on":false`):
			steps = append(steps, "autoreboot-off")
		default:
			steps = append(steps, r.Method+" "+r.Path+" "+r.Body)
		}
	}
	want := "autoreboot-off powerdown start autoreboot-off powerdown start"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("writes to web1 = %s; want two restarts one after the other: %s", got, want)
	}
}
