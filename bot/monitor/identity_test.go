package monitor_test

import (
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/monitor"
)

// One server, one identity: the guards of the webhooks key on a server's
// ID, whichever name an alert gives it.

// webhookAliases are names of web1 (ID 1001) other than the ones monitoring
// used first.
var webhookAliases = []string{"1001.default.acme", "1001", "web1.11.acme", "web1.default.1", "web1.default.acme.uk0.bigv.io"}

// TestHookAliasCooldown: a reboot by webhook of web1.default.acme, then an
// alert naming the same server another way: the second is held by the
// cooldown, whatever alias it uses.
func TestHookAliasCooldown(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	t0 := time.Now().Add(-time.Hour)
	h.MustPost(pathAM, amDelivery(firing("web1.default.acme", t0)))
	h.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	for i, alias := range webhookAliases {
		ans := h.MustPost(pathAM, amDelivery(firing(alias, t0.Add(time.Duration(i+1)*time.Minute))))
		if ans.Decisions[monitor.DecCooldown] != 1 {
			t.Errorf("alert for %s: decisions = %v; want cooldown", alias, ans.Decisions)
		}
	}
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecCooldown, len(webhookAliases))
	// Reported under the canonical name.
	h.WaitPost("Not rebooting", "`web1.default.acme`", "cooldown")
	if n := h.Resets(""); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
}

// TestHookAliasDailyCapAndFleet: the daily cap counts a server's reboots
// under every alias, and the fleet brake counts it as one server.
func TestHookAliasDailyCapAndFleet(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) {
		c.Cooldown = time.Millisecond
		c.MaxPerDay = 2
		c.FleetMax = 1
	})
	t0 := time.Now().Add(-time.Hour)
	// Two reboots by two names: one server, so the fleet brake (at most
	// one server) doesn't hold the second.
	for i, name := range []string{"web1", "1001"} {
		ans := h.MustPost(pathAM, amDelivery(firing(name, t0.Add(time.Duration(i)*time.Minute))))
		if ans.Decisions[monitor.DecReboot] != 1 {
			t.Fatalf("alert for %s: decisions = %v; want a reboot", name, ans.Decisions)
		}
		h.WaitAudit(monitor.SourceAlertmanager, "done", i+1)
	}
	// The third, by a third name, is over the cap of two.
	ans := h.MustPost(pathAM, amDelivery(firing("web1.11.acme", t0.Add(10*time.Minute))))
	if ans.Decisions[monitor.DecCapped] != 1 {
		t.Fatalf("third alert decisions = %v; want capped", ans.Decisions)
	}
	h.WaitPost("approval card posted", "REBOOT_MAX_PER_DAY")
	if n := h.Resets(""); n != 2 {
		t.Errorf("reset calls = %d; want 2", n)
	}
}

// TestHookWrongSuffix: an alert naming a hostname with another suffix
// reboots nothing; the job says why.
func TestHookWrongSuffix(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	h.MustPost(pathAM, amDelivery(firing("web1.default.acme.uk1.bigv.io", time.Now())))
	h.WaitPost("Not running", "web1.default.acme.uk1.bigv.io", "`uk0.bigv.io`")
	if n := h.Writes(); n != 0 {
		t.Errorf("%d Bytemark writes; want none", n)
	}
}
