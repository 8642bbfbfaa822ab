package monitor_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/bottest"
)

// TestRebootCycleCountsAsStop: with APPROVAL_ACTIONS=stop, an automatic
// reboot by power cycle from monitoring asks for approval, and nothing is
// written to Bytemark until then (bot's test of the same name: typed).
func TestRebootCycleCountsAsStop(t *testing.T) {
	hk := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.Method = commands.RebootCycle }, bottest.WithPolicy(t, "stop"))
	writes := hk.Writes()
	hk.MustPost(pathAM, amDelivery(firing("web1", time.Now().Add(-time.Minute))))
	hk.WaitCard(1)
	hk.WaitPost("APPROVAL_ACTIONS includes stop")
	if got := hk.Writes(); got != writes {
		t.Errorf("an automatic power cycle with APPROVAL_ACTIONS=stop wrote %d times to Bytemark before any approval", got-writes)
	}
}

// TestOutsideTextIsEscaped: every string from monitoring (alert names,
// summaries, server labels) and from the Bytemark API (on the approval
// card an alert posts) reaches Slack escaped, in the summary and the card
// alike: none of them can ping the channel, mention someone or make a link
// (bot's test of the same name: the API's text in results and cards).
func TestOutsideTextIsEscaped(t *testing.T) {
	h := hookHarness(t, monitor.ModeApprove, nil)
	if _, err := h.Fake.AddServer("acme", "default", bytemark.Server{Name: "evil1", PowerOn: true, ZoneName: "york <!channel> & co",
		Discs: []bytemark.Disc{{Label: "root<@U123>", Size: 25600, StorageGrade: "sata<!everyone>"}}}); err != nil {
		t.Fatal(err)
	}
	// An alert whose name and summary would ping the channel.
	var d map[string]any
	if err := json.Unmarshal(amDelivery(firing("evil1", time.Now().Add(-time.Minute))), &d); err != nil {
		t.Fatal(err)
	}
	a := d["alerts"].([]any)[0].(map[string]any)
	a["labels"].(map[string]any)["alertname"] = "<!channel> Down & *out*"
	a["annotations"].(map[string]any)["summary"] = "<@U123> look <https://evil.example|here>"
	// A second alert whose server label is itself hostile.
	var a2 map[string]any
	ab, _ := json.Marshal(a)
	json.Unmarshal(ab, &a2)
	a2["labels"].(map[string]any)["bytemark_server"] = "<!channel>&web9"
	a2["fingerprint"] = "0123456789abcdef"
	d["alerts"] = append(d["alerts"].([]any), a2)
	b, _ := json.Marshal(d)
	h.MustPost(pathAM, b)
	h.WaitCard(1)
	h.WaitPost("Alertmanager")
	h.WaitPost("&lt;!channel&gt;&amp;web9")

	entities := strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "")
	wants := []string{"&lt;!everyone&gt;", "root&lt;@U123&gt;",
		"&lt;!channel&gt; Down &amp; *out*", "&lt;@U123&gt; look"}
	seen := map[string]bool{}
	for _, c := range h.Slack.Calls("") {
		all := c.Form.Get("text") + "\n" + c.BlocksJSON()
		for _, raw := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://evil"} {
			if strings.Contains(all, raw) {
				t.Errorf("%s carries %s unescaped:\n%s", c.Method, raw, all)
			}
		}
		if rest := entities.Replace(all); strings.Contains(rest, "&") {
			t.Errorf("%s carries a bare &:\n%s", c.Method, all)
		}
		for _, want := range wants {
			if strings.Contains(all, want) {
				seen[want] = true
			}
		}
	}
	for _, want := range wants {
		if !seen[want] {
			t.Errorf("no Slack message shows %q (escaped); Slack calls:\n%s", want, h.Slack.Dump())
		}
	}
}
