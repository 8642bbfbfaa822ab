package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/commands"
)

// withPolicy sets APPROVAL_ACTIONS.
func withPolicy(t *testing.T, csv string) harnessOption {
	t.Helper()
	p, err := commands.ParsePolicy(csv)
	if err != nil {
		t.Fatal(err)
	}
	return withConfig(func(c *Config) { c.Policy = p })
}

// TestRebootCycleCountsAsStop: with APPROVAL_ACTIONS=stop, typing
// `reboot web1 cycle` (which pulls the plug) must not get round the rule:
// it asks for approval and nothing is written to Bytemark until then. The
// same holds for an automatic reboot by power cycle from monitoring.
func TestRebootCycleCountsAsStop(t *testing.T) {
	h := newHarness(t, withPolicy(t, "stop"))
	writes := h.writes()
	body := h.mustSlash(userAsker, chanOps, "reboot web1 cycle")
	if !strings.Contains(body.Text, "needs approval") {
		t.Errorf("reboot web1 cycle with APPROVAL_ACTIONS=stop answered %q; want it to need approval", body.Text)
	}
	h.waitCard(1)
	if got := h.writes(); got != writes {
		t.Errorf("reboot web1 cycle wrote %d times to Bytemark before any approval", got-writes)
	}
	// A reset is neither a stop nor a start: it runs at once.
	body = h.mustSlash(userAsker, chanOps, "reboot web2 reset")
	if strings.Contains(body.Text, "needs approval") {
		t.Errorf("reboot web2 reset with APPROVAL_ACTIONS=stop answered %q; want it to run", body.Text)
	}
	h.waitPost(":white_check_mark:", "web2", "rebooted by reset")

	// Monitoring, rebooting by power cycle.
	hk := newHarness(t, withPolicy(t, "stop"), withConfig(func(c *Config) {
		c.Reboot = RebootConfig{WebhookToken: testWebhookToken, Mode: RebootOn, Method: commands.RebootCycle}
	}))
	writes = hk.writes()
	hk.mustPost(pathAM, amDelivery(t, alert{server: "web1", status: "firing", start: time.Now().Add(-time.Minute)}))
	hk.waitCard(1)
	hk.waitPost("APPROVAL_ACTIONS includes stop")
	if got := hk.writes(); got != writes {
		t.Errorf("an automatic power cycle with APPROVAL_ACTIONS=stop wrote %d times to Bytemark before any approval", got-writes)
	}
}
