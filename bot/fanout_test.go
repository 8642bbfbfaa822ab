package bot_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// addServers adds running servers to the fake's group of account acme.
func (h *harness) addServers(group string, names ...string) {
	h.T.Helper()
	for _, n := range names {
		if _, err := h.Fake.AddServer("acme", group, bytemark.Server{Name: n, PowerOn: true}); err != nil {
			h.T.Fatal(err)
		}
	}
}

// waitUpdate waits for a chat.update containing every substring.
func (h *harness) waitUpdate(substrings ...string) slacktest.Call {
	h.T.Helper()
	return h.Slack.WaitCall(h.T, "chat.update", substrings...)
}

// shownFirst records, from the fake's side, whether the bot had posted a
// message naming every one of names before its first write to Bytemark:
// the list is shown before anything runs.
func (h *harness) shownFirst(names ...string) func() bool {
	var mu sync.Mutex
	first, shown := true, false
	h.Fake.OnRequest(func(method, path string) {
		if method == http.MethodGet || strings.HasSuffix(path, "/session") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			shown = len(h.Slack.Find("chat.postMessage", names...)) > 0
		}
	})
	h.T.Cleanup(func() { h.Fake.OnRequest(nil) })
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !first && shown
	}
}

// TestManyGroup: `start group:staging` resolves to the group's servers,
// shows the list (the deleted one skipped, and said so) before anything
// runs, starts each once and reports in one message that ends with the
// totals; every server's run is in the audit log under its own name.
func TestManyGroup(t *testing.T) {
	h := newHarness(t)
	h.addServers("staging", "stage2")
	if _, err := h.Fake.AddServer("acme", "staging", bytemark.Server{Name: "stage3", Deleted: true}); err != nil {
		t.Fatal(err)
	}
	h.Fake.SetPower("acme", "staging", "stage2", false)
	shown := h.shownFirst("stage1.staging.acme", "stage2.staging.acme", "stage3.staging.acme", "skipped (deleted)")
	if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "start group:staging"); !strings.Contains(r.Text, "Working on `start group:staging`") {
		t.Errorf("reply = %q", r.Text)
	}
	h.waitUpdate(":white_check_mark: `start group:staging` (for <@UASKER001>): done on all 2 servers in `staging.acme`",
		"`stage1.staging.acme`: stage1.staging.acme started", "`stage2.staging.acme`: stage2.staging.acme started",
		"`stage3.staging.acme`: skipped (deleted)")
	if !shown() {
		t.Errorf("the servers were not listed before the first change:\n%s", h.Slack.Dump())
	}
	for _, name := range []string{"stage1", "stage2"} {
		if srv, _ := h.Fake.Server("acme", "staging", name); !srv.PowerOn {
			t.Errorf("%s is off", name)
		}
		if n := h.Fake.Calls("PUT", "/groups/staging/virtual_machines/"+name); n != 1 {
			t.Errorf("%d PUTs to %s; want 1", n, name)
		}
	}
	if n := h.Fake.Calls("", "/virtual_machines/stage3"); n != 0 {
		t.Errorf("%d requests about the deleted stage3; want none", n)
	}
	es, err := h.Store.AuditLog(t.Context(), "stage2.staging.acme", 20)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range es {
		if e.Action == "start stage2.staging.acme" && e.Actor == bottest.UserAsker {
			outcomes = append(outcomes, e.Outcome)
		}
	}
	if strings.Join(outcomes, ",") != "done,started" {
		t.Errorf("audit of stage2 = %q; want done,started:\n%+v", outcomes, es)
	}
}

// TestManyBlastRadius: a glob that reaches more servers than BLAST_RADIUS
// asks for approval on a card that lists them, runs nothing until it is
// approved, and then runs the action on every server once.
func TestManyBlastRadius(t *testing.T) {
	h := newHarness(t)
	h.addServers("default", "web3", "web4")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "reset web*")
	c := h.WaitCard(1)
	for _, want := range []string{"Approval needed: reset web*", "web* in default.acme (4 servers)", "*Servers (4)*",
		"`web1.default.acme`", "`web2.default.acme`", "`web3.default.acme`", "`web4.default.acme`",
		"reaches 4 servers, more than BLAST_RADIUS (3)", "4 on, 0 off"} {
		if !strings.Contains(c.Blocks, want) {
			t.Errorf("card lacks %q:\n%s", want, c.Blocks)
		}
	}
	if strings.Contains(c.Blocks, "db1") {
		t.Errorf("card lists a server the glob doesn't match:\n%s", c.Blocks)
	}
	if n := h.Fake.Calls("POST", "/signal"); n != 0 {
		t.Fatalf("%d signals before the approval", n)
	}
	h.Click(bottest.UserAppr1, bottest.ChanOps, c, "approve")
	h.waitUpdate(":white_check_mark: `reset web*` (for <@UASKER001>, approved by <@UAPPROVE1>): done on all 4 servers")
	for _, name := range []string{"web1", "web2", "web3", "web4"} {
		if n := h.Fake.Calls("POST", "/virtual_machines/"+name+"/signal"); n != 1 {
			t.Errorf("%d reset signals to %s; want 1", n, name)
		}
	}
	if n := h.Fake.Calls("POST", "/signal"); n != 4 {
		t.Errorf("%d signals in all; want 4", n)
	}
	h.WaitFor("the card's final note", func() bool {
		return len(h.Slack.Find("chat.update", "Done: reset web*", "Done on every server")) > 0
	})
}

// TestManyOneFails: one server's failure (the fake refuses its stop)
// stops none of the others; the report says which failed and why.
func TestManyOneFails(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.BlastRadius = 10 }))
	h.addServers("default", "web3")
	h.Fake.FailNext("PUT", "/virtual_machines/web2", http.StatusInternalServerError, 1)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "stop web*")
	h.waitUpdate(":warning: `stop web*` (for <@UASKER001>) on 3 servers in `default.acme`: 2 done, 1 failed.",
		"`web1.default.acme`: web1.default.acme stopped", "`web3.default.acme`: web3.default.acme stopped",
		"`web2.default.acme`: failed: The Bytemark API failed (HTTP 500)")
	for name, on := range map[string]bool{"web1": false, "web2": true, "web3": false} {
		if srv, _ := h.Fake.Server("acme", "default", name); srv.PowerOn != on {
			t.Errorf("%s power on = %v; want %v", name, srv.PowerOn, on)
		}
		if n := h.Fake.Calls("PUT", "/groups/default/virtual_machines/"+name); n != 1 {
			t.Errorf("%d PUTs to %s; want 1", n, name)
		}
	}
	if len(h.Slack.Find("chat.postMessage", "Approval needed")) > 0 {
		t.Error("a card for 3 servers with BLAST_RADIUS 10")
	}
}

// TestManyRefused: a destructive command never takes many servers (refused
// when parsed); a target that matches nothing, or only deleted servers,
// says so; a rule that refuses one of the servers refuses the lot, naming
// the server and the rule.
func TestManyRefused(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) {
		c.Rules = mustPolicy(t, `roles:
  ops: [UAPPROVE1]
rules:
  - actions: [restart]
    servers: ["web1.default.acme"]
    approvals: 0
  - actions: [restart]
    servers: ["web2.default.acme"]
    requesters: [ops]
    approvals: 0
  - actions: [delete, purge, start]
    approvers: [ops]
    approvals: 1
`)
	}))
	for _, cmd := range []string{"delete group:default", "purge web*"} {
		r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, cmd)
		if r.ResponseType == "in_channel" || !strings.Contains(r.Text, "takes exactly one server") {
			t.Errorf("%s: reply %q (%s); want an ephemeral refusal", cmd, r.Text, r.ResponseType)
		}
	}
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart zz*")
	h.WaitPost(":grey_question: `restart zz*` (for <@UASKER001>) matches no server in group `default.acme`, so nothing was done.")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart old*")
	h.WaitPost("`restart old*` (for <@UASKER001>) matches no server", "Skipped: `old1.default.acme` (deleted).")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart group:nosuch")
	h.WaitPost(":x: Not running `restart group:nosuch`", "I can't find group `nosuch.acme`")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web*")
	h.WaitPost(":no_entry: Not running `restart web*` (for <@UASKER001>): `restart web*` reaches 2 servers, and the policy refuses it on `web2.default.acme`, so none of them is done.",
		"refused by rule 2 (line 7): only ops may ask for restart on web2.default.acme")
	if n := h.Writes(); n != 0 {
		t.Errorf("%d writes to Bytemark; want none", n)
	}
	h.WaitFor("the refusal in web2's audit log", func() bool {
		es, _ := h.Store.AuditLog(t.Context(), "web2.default.acme", 20)
		return len(es) > 0 && es[0].Outcome == "refused: policy" && es[0].Action == "restart web2.default.acme"
	})
}
