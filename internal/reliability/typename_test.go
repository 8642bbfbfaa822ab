package reliability

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
)

// Scenario 17.3: a wrong name typed in the type-the-name modal, against a
// `bytebot serve` process: no vote. Approve on a purge opens the modal
// (views.open with the press's trigger_id) and counts nothing; a wrong
// name is answered with response_action errors on the name's block and
// counts nothing; the right name afterwards counts exactly one vote and
// the purge runs once.
func TestWrongNameInModalNoVote(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "rel173:"))
	dump := func() string { return slack.Dump() + "\n--- bot\n" + bot.logText() }
	rdb := rds.client()
	defer rdb.Close()
	ticket := func(id string) map[string]string {
		m, err := rdb.HGetAll(t.Context(), "{rel173}:ticket:"+id).Result()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	if code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web2"); code != http.StatusOK || !strings.Contains(string(body), "needs approval") {
		t.Fatalf("purge web2 = %d %s", code, body)
	}
	c := slack.WaitCard(t, 1)
	press := slack.Click(bottest.UserAppr1, bottest.ChanOps, c, slackui.ActionApprove)
	if code, body := bot.interact(secret, press.Body()); code != http.StatusOK {
		t.Fatalf("approve press = %d %s", code, body)
	}
	v, ok := slack.ViewOpenedBy(press.TriggerID)
	if !ok {
		t.Fatalf("the press opened no modal\n%s", dump())
	}
	if !strings.Contains(v.Blocks, "purge web2.default.acme") || !strings.Contains(v.Blocks, "root") {
		t.Errorf("the modal doesn't show what will be destroyed:\n%s", v.Blocks)
	}
	for _, wrong := range []string{"web1", "web2.default.acme.uk1.bigv.io", "db1.default.acme"} {
		code, body := bot.interact(secret, typeName(slack, bottest.UserAppr1, v, wrong))
		if code != http.StatusOK || !strings.Contains(string(body), `"response_action":"errors"`) || !strings.Contains(string(body), `"`+slackui.BlockConfirmName+`"`) {
			t.Errorf("wrong name %q answered %d %s; want errors on %s", wrong, code, body, slackui.BlockConfirmName)
		}
	}
	if tk := ticket(c.Ticket); tk["state"] != "pending" || strings.Contains(tk["approvers"], "U") {
		t.Fatalf("ticket after wrong names = %v; want pending with no approvals\n%s", tk, dump())
	}
	// The positive signal: the right name counts exactly one vote, and
	// the purge runs once.
	code, body := bot.interact(secret, typeName(slack, bottest.UserAppr1, v, "web2"))
	if code != http.StatusOK || len(body) != 0 {
		t.Fatalf("right name answered %d %q; want an empty 200", code, body)
	}
	slack.WaitPost(t, "web2.default.acme purged")
	waitFor(t, 10*time.Second, "the work queue to be empty", func() bool {
		p, err := rdb.XPending(t.Context(), "{rel173}:queue", "executors").Result()
		return err == nil && p.Count == 0
	}, dump)
	if tk := ticket(c.Ticket); tk["state"] != "approved" || tk["approvers"] != `["`+bottest.UserAppr1+`"]` {
		t.Errorf("ticket = %v; want approved by %s alone", tk, bottest.UserAppr1)
	}
	if n := bottest.Purges(fake.Server, "web2"); n != 1 {
		t.Errorf("purge calls = %d; want 1\n%s", n, dump())
	}
	refused := 0
	entries, err := rdb.XRange(t.Context(), "{rel173}:audit", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Values["outcome"] == "approve refused" && e.Values["actor"] == bottest.UserAppr1 {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("audit has %d refused approvals; want 3 (one per wrong name)", refused)
	}
}
