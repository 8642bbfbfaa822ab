package bot_test

import (
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/internal/bottest"
)

// TestProtectedServers: a server that PROTECTED_SERVERS names is never
// deleted, purged or reimaged, by any of its names, and the refusal says
// which setting protects it; other actions on it, and other servers, are
// untouched by the setting.
func TestProtectedServers(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Protected = []string{"web2.default.*"} }))
	for _, c := range []struct{ typed, shown string }{
		{"purge web2", "purge web2.default.acme"},
		{"delete web2.default.acme.uk0.bigv.io", "delete web2.default.acme"},
		{"disc purge web2 root", "disc purge web2.default.acme root"},
		{"reimage web2 symbiosis", "reimage web2.default.acme symbiosis"},
	} {
		h.MustSlash(bottest.UserAsker, bottest.ChanOps, c.typed)
		m := h.WaitPost("Not running `"+c.shown+"`", "is protected (it matches web2.default.* in PROTECTED_SERVERS)", "take web2.default.* out of PROTECTED_SERVERS")
		if strings.Contains(m.Form.Get("text"), "<@") && !strings.Contains(m.Form.Get("text"), bottest.UserAsker) {
			t.Errorf("refusal of %q names someone else: %q", c.typed, m.Form.Get("text"))
		}
	}
	if len(h.Slack.Cards()) != 0 {
		t.Errorf("an approval card was posted for a protected server:\n%s", h.Slack.Dump())
	}
	if n := h.Writes(); n != 0 {
		t.Errorf("%d Bytemark writes after refusals; want none", n)
	}
	// Not destructive: runs.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web2")
	h.WaitPost("web2.default.acme restarted")
	// Another server: asks as before.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	h.WaitCard(1)
}
