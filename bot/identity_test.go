package bot_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
)

// webhookAliases are names of web1 (ID 1001) other than the ones monitoring
// used first.
var webhookAliases = []string{"1001.default.acme", "1001", "web1.11.acme", "web1.default.1", "web1.default.acme.uk0.bigv.io"}

// TestHookAliasCooldown: a reboot by webhook of web1.default.acme, then an
// alert naming the same server another way: the second is held by the
// cooldown, whatever alias it uses.
func TestHookAliasCooldown(t *testing.T) {
	h := hookHarness(t, bot.RebootOn, nil)
	t0 := time.Now().Add(-time.Hour)
	h.mustPost(pathAM, amDelivery(firing("web1.default.acme", t0)))
	h.waitAudit(bot.SourceAlertmanager, "done", 1)
	for i, alias := range webhookAliases {
		ans := h.mustPost(pathAM, amDelivery(firing(alias, t0.Add(time.Duration(i+1)*time.Minute))))
		if ans.Decisions[bot.DecCooldown] != 1 {
			t.Errorf("alert for %s: decisions = %v; want cooldown", alias, ans.Decisions)
		}
	}
	h.waitAudit(bot.SourceAlertmanager, bot.DecCooldown, len(webhookAliases))
	// Reported under the canonical name.
	h.waitPost("Not rebooting", "`web1.default.acme`", "cooldown")
	if n := h.totalResets(); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
}

// TestHookAliasDailyCapAndFleet: the daily cap counts a server's reboots
// under every alias, and the fleet brake counts it as one server.
func TestHookAliasDailyCapAndFleet(t *testing.T) {
	h := hookHarness(t, bot.RebootOn, func(c *bot.RebootConfig) {
		c.Cooldown = time.Millisecond
		c.MaxPerDay = 2
		c.FleetMax = 1
	})
	t0 := time.Now().Add(-time.Hour)
	// Two reboots by two names: one server, so the fleet brake (at most
	// one server) doesn't hold the second.
	for i, name := range []string{"web1", "1001"} {
		ans := h.mustPost(pathAM, amDelivery(firing(name, t0.Add(time.Duration(i)*time.Minute))))
		if ans.Decisions[bot.DecReboot] != 1 {
			t.Fatalf("alert for %s: decisions = %v; want a reboot", name, ans.Decisions)
		}
		h.waitAudit(bot.SourceAlertmanager, "done", i+1)
	}
	// The third, by a third name, is over the cap of two.
	ans := h.mustPost(pathAM, amDelivery(firing("web1.11.acme", t0.Add(10*time.Minute))))
	if ans.Decisions[bot.DecCapped] != 1 {
		t.Fatalf("third alert decisions = %v; want capped", ans.Decisions)
	}
	h.waitPost("approval card posted", "REBOOT_MAX_PER_DAY")
	if n := h.totalResets(); n != 2 {
		t.Errorf("reset calls = %d; want 2", n)
	}
}

// TestHookWrongSuffix: an alert naming a hostname with another suffix
// reboots nothing; the job says why.
func TestHookWrongSuffix(t *testing.T) {
	h := hookHarness(t, bot.RebootOn, nil)
	h.mustPost(pathAM, amDelivery(firing("web1.default.acme.uk1.bigv.io", time.Now())))
	h.waitPost("Not running", "web1.default.acme.uk1.bigv.io", "`uk0.bigv.io`")
	if n := h.writes(); n != 0 {
		t.Errorf("%d Bytemark writes; want none", n)
	}
}

// TestWrongSuffixRefused: a name with anything after the account other
// than the API's hostname suffix is refused with a clear message, never
// trimmed: no purge card, no show of web1.
func TestWrongSuffixRefused(t *testing.T) {
	h := newHarness(t)
	h.mustSlash(userAsker, chanOps, "purge web1.default.acme.uk1.bigv.io")
	h.waitPost("Not running", "purge web1.default.acme.uk1.bigv.io", "hostname is `web1.default.acme.uk0.bigv.io`")
	h.mustSlash(userAsker, chanOps, "show web1.default.acme.uk0.bigv.io.evil.com")
	m := h.waitAnswer("Not running", "show web1.default.acme.uk0.bigv.io.evil.com", "must be exactly `uk0.bigv.io`")
	if strings.Contains(m.Form.Get("text"), " is on") {
		t.Errorf("web1 shown: %q", m.Form.Get("text"))
	}
	if len(h.slack.Cards()) != 0 {
		t.Errorf("an approval card was posted:\n%s", h.slack.Dump())
	}
	// The API's own suffix is a name of web1.
	h.mustSlash(userAsker, chanOps, "show web1.default.acme.uk0.bigv.io")
	h.waitAnswer("web1.default.acme is on")
	if n := h.writes(); n != 0 {
		t.Errorf("%d Bytemark writes; want none", n)
	}
}

// TestAuditByAlias: `audit web1` shows what was asked as 1001 (and the
// other way round), under the canonical name.
func TestAuditByAlias(t *testing.T) {
	h := newHarness(t)
	h.mustSlash(userAsker, chanOps, "restart 1001")
	h.waitPost("web1.default.acme restarted")
	h.waitFor("the job's audit entry", func() bool {
		es, err := h.store.AuditLog(t.Context(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Outcome == "done" {
				if e.Server != "web1.default.acme" || !strings.Contains(e.Detail, "server 1001") {
					t.Fatalf("audit entry server = %q, detail %q; want the canonical name and the ID", e.Server, e.Detail)
				}
				return true
			}
		}
		return false
	})
	for _, name := range []string{"web1", "1001", "web1.default.acme.uk0.bigv.io", "web1.11.1"} {
		body := h.mustSlash(userAsker, chanOps, "audit "+name)
		if !strings.Contains(body.Text, "restart 1001") || !strings.Contains(body.Text, "*done*") {
			t.Errorf("audit %s = %q; want the restart asked as 1001", name, body.Text)
		}
	}
	body := h.mustSlash(userAsker, chanOps, "audit web1.default.acme.uk1.bigv.io")
	if !strings.Contains(body.Text, "`uk0.bigv.io`") {
		t.Errorf("audit with a wrong suffix = %q; want it refused", body.Text)
	}
	body = h.mustSlash(userAsker, chanOps, "audit web2")
	if strings.Contains(body.Text, "restart") {
		t.Errorf("audit web2 = %q; want nothing of web1", body.Text)
	}
}

// TestPurgeRenamedAfterCheck: the server approved for a purge is renamed
// away, and another takes its name, between the last check and the purge
// call. The call names the approved server by its ID: the approved server
// is purged, the one renamed into its place is untouched.
func TestPurgeRenamedAfterCheck(t *testing.T) {
	h := newHarness(t)
	h.mustSlash(userAsker, chanOps, "purge web2")
	b := h.waitCard(1)
	var renamed atomic.Bool
	h.fake.OnRequest(func(method, path string) {
		if method == http.MethodDelete && renamed.CompareAndSwap(false, true) {
			if !h.fake.Rename("acme", "default", "web2", "web2-old") || !h.fake.Rename("acme", "default", "web1", "web2") {
				t.Error("renaming in the fake failed")
			}
		}
	})
	if code := h.click(userAppr1, chanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	h.waitPost("purged: the server and its discs are gone")
	if !renamed.Load() {
		t.Fatal("no purge call")
	}
	if s, ok := h.fake.Server("acme", "default", "web2"); !ok || s.ID != 1001 || s.Deleted || len(s.Discs) == 0 {
		t.Errorf("the server renamed into place (ID 1001) = %+v, %v; want it untouched", s, ok)
	}
	if _, ok := h.fake.Server("acme", "default", "web2-old"); ok {
		t.Error("the approved server (ID 1002, now web2-old) was not purged")
	}
	if n := h.fake.Calls("DELETE", "/virtual_machines/1002"); n != 1 {
		t.Errorf("purge calls by ID = %d; want 1", n)
	}
}
