package reliability

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// policyYAML is the policy the scenarios of issue 18 run under. Rule 1 is
// on line 6, rule 2 on line 12.
const policyYAML = `roles:
  ops: [UAPPROVE1, UAPPROVE2, UASKER001]
  devs: [UOTHER001]
rules:
  # 1. destroying takes two of ops, asked in #ops
  - actions: [purge, delete]
    servers: ["*.default.acme"]
    requesters: [ops]
    approvers: [ops]
    approvals: 2
    channels: [COPS00001]
  - actions: [start, stop, restart, reset, shutdown, reboot]
    requesters: [ops]
    approvals: 0
protected: ["db1.default.acme"]
`

// replyText is the text of a slash command's answer.
func replyText(body []byte) string {
	_, text := slashText(body)
	return text
}

// readyz returns the body of GET /readyz.
func (b *botProc) readyz(t *testing.T) string {
	t.Helper()
	resp, err := httpClient.Get(b.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// Scenario 18.1: `bytebot serve` with POLICY_FILE decides by it. A requester
// no rule admits is refused with the rule and what would allow it; a
// protected server is never purged; a purge takes two approvals from the
// rule's approvers and the card says so; /readyz and /metrics show the
// policy's hash; SIGHUP reloads the file, and a bad file keeps the policy.
func TestPolicyFileInServe(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "relpol:", "APPROVERS=", "POLICY_FILE="+file))
	dump := func() string { return bot.logText() + "\n" + slack.Dump() }

	ready := bot.readyz(t)
	hash := ""
	if f := strings.Fields(ready); len(f) > 2 {
		hash = f[2] // ready, policy, HASH, (FILE)
	}
	if !strings.HasPrefix(ready, "ready\npolicy ") || len(hash) != 12 || !strings.Contains(ready, file) {
		t.Fatalf("/readyz = %q; want ready and the policy's hash and file", ready)
	}
	resp, err := httpClient.Get(bot.metricsURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `bytebot_policy_info{hash="`+hash) {
		t.Errorf("/metrics lacks bytebot_policy_info with hash %s", hash)
	}

	// A refused requester: devs are in no rule's requesters.
	before := bottest.Writes(fake.Server)
	code, body := bot.slash(secret, bottest.UserOther, bottest.ChanOps, "reset web1")
	if text := replyText(body); code != http.StatusOK || !strings.Contains(text, "aren't allowed") ||
		!strings.Contains(text, "refused by rule 2 (line 12)") || !strings.Contains(text, "add UOTHER001 to a role in the requesters of rule 2 (line 12)") {
		t.Errorf("reset by a dev = %d %q; want a refusal naming rule 2 and what would allow it", code, text)
	}

	// A protected server.
	bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge db1")
	slack.WaitPost(t, "Not running `purge db1.default.acme`", "db1.default.acme is protected (it matches db1.default.acme in protected ("+file+":15))")

	// The quorum of two.
	bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web2")
	c := slack.WaitCard(t, 1)
	for _, want := range []string{"0 of 2", "*Rule*", "rule 1 (line 6) asks for 2 from <@UAPPROVE1>, <@UAPPROVE2>, <@UASKER001> (ops)"} {
		if !strings.Contains(slacktest.UnescapeJSON(c.Blocks), want) {
			t.Errorf("card lacks %q:\n%s", want, c.Blocks)
		}
	}
	if code, _ := bot.click(secret, bottest.UserOther, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatal(code)
	}
	slack.WaitEphemeral(t, bottest.UserOther, "aren't one of the approvers")
	if code, _ := bot.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatal(code)
	}
	slack.WaitCall(t, "chat.update", "1 of 2")
	if n := bottest.Purges(fake.Server, "web2"); n != 0 {
		t.Fatalf("purges of web2 after one approval = %d; want 0", n)
	}
	if code, _ := bot.click(secret, bottest.UserAppr2, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatal(code)
	}
	slack.WaitPost(t, "web2.default.acme purged")
	if n := bottest.Purges(fake.Server, "web2"); n != 1 {
		t.Errorf("purges of web2 = %d; want 1", n)
	}
	if n := bottest.Writes(fake.Server) - before; n != 1 {
		t.Errorf("Bytemark writes = %d; want only the purge of web2\n%s", n, dump())
	}

	// SIGHUP: a bad file keeps the policy in force.
	if err := os.WriteFile(file, []byte("rules:\n  - actions: [stopp]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bot.p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 10*time.Second, "the bad file to be refused", func() bool {
		return strings.Contains(bot.logText(), "not reloaded")
	}, dump)
	if !strings.Contains(bot.logText(), `unknown action \"stopp\"`) || !strings.Contains(bot.readyz(t), hash) {
		t.Errorf("after a bad file: /readyz %q; want the old hash %s, and the problem logged\n%s", bot.readyz(t), hash, bot.logText())
	}
	// A good one is in force for the next request: devs may now reset.
	good := strings.Replace(policyYAML, "    requesters: [ops]\n    approvals: 0", "    requesters: [ops, devs]\n    approvals: 0", 1)
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	bot.p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 10*time.Second, "the new policy", func() bool { return !strings.Contains(bot.readyz(t), hash) }, dump)
	if code, body := bot.slash(secret, bottest.UserOther, bottest.ChanOps, "reset web1"); code != http.StatusOK || !strings.Contains(replyText(body), "Working on") {
		t.Errorf("reset by a dev after the reload = %d %s; want it to run", code, body)
	}
	slack.WaitPost(t, "web1.default.acme", "reset")
}

// Scenario 18.5: monitoring's reboots are requests by the pseudo-role
// monitoring. With AUTO_REBOOT=approve, which would ask about every one, a
// rule that lets monitoring reboot web1 at once reboots it, one that asks
// for approval on web2 posts a card, and db1, which no rule allows, is
// refused with the explanation; the cooldown still holds a repeat.
func TestMonitoringRule(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const token = "reliability-webhook-token"
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(`roles:
  ops: [UAPPROVE1, UAPPROVE2]
rules:
  - actions: [reboot, reset]
    servers: [web1.default.acme]
    requesters: [monitoring]
    approvals: 0
  - actions: [reboot, reset]
    servers: [web2.default.acme]
    requesters: [monitoring]
    approvers: [ops]
    approvals: 1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "relmon:", "APPROVERS=", "POLICY_FILE="+file, "AUTO_REBOOT=approve"))
	dump := func() string { return bot.logText() + "\n" + slack.Dump() }
	for seq, server := range []string{"web1.default.acme", "web2.default.acme", "db1.default.acme"} {
		if code, body := bot.hook(token, alertBody(server, seq, 1)); code != http.StatusOK {
			t.Fatalf("delivery for %s = %d %s", server, code, body)
		}
	}
	slack.WaitPost(t, "web1.default.acme rebooted by reset")
	c := slack.WaitCard(t, 1)
	if !strings.Contains(c.Text, "web2.default.acme") || !strings.Contains(slacktest.UnescapeJSON(c.Blocks), "rule 2 (line 8) asks for 1 from <@UAPPROVE1>, <@UAPPROVE2> (ops)") {
		t.Errorf("card = %s\n%s; want web2's, naming rule 2", c.Text, c.Blocks)
	}
	slack.WaitPost(t, "db1.default.acme", "is refused: no rule allows reboot on db1.default.acme")
	if code, body := bot.hook(token, alertBody("web1.default.acme", 9, 1)); code != http.StatusOK || !strings.Contains(string(body), `"cooldown":1`) {
		t.Errorf("a repeat for web1 = %d %s; want it held by the cooldown", code, body)
	}
	if n1, n2, n3 := signals(fake.Server, "web1")+signals(fake.Server, "1001"), signals(fake.Server, "web2")+signals(fake.Server, "1002"),
		signals(fake.Server, "db1")+signals(fake.Server, "1003"); n1 != 1 || n2 != 0 || n3 != 0 {
		t.Errorf("reboots of web1, web2, db1 = %d, %d, %d; want 1, 0, 0\n%s", n1, n2, n3, dump())
	}
}

// Scenario 18.6: targets of many servers under a POLICY_FILE. A group
// target within BLAST_RADIUS runs at once and its report lists every
// server; a glob beyond it asks the approvers of the rule that matches
// them, on a card listing them, and once approved resets each exactly
// once; a destructive command never takes a group.
func TestPolicyGroupTarget(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	for _, s := range []struct{ group, name string }{{"staging", "stage2"}, {"default", "web3"}} {
		if _, err := fake.Server.AddServer("acme", s.group, bytemark.Server{Name: s.name, PowerOn: s.group == "default"}); err != nil {
			t.Fatal(err)
		}
	}
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(`roles:
  ops: [UAPPROVE1, UAPPROVE2, UASKER001]
rules:
  - actions: [start, stop, restart, reset, shutdown, reboot]
    servers: ["*.default.acme", "*.staging.acme"]
    requesters: [ops]
    approvers: [ops]
    approvals: 0
  - actions: [delete]
    approvers: [ops]
    approvals: 1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "relgrp:", "APPROVERS=", "POLICY_FILE="+file, "BLAST_RADIUS=2"))
	dump := func() string { return bot.logText() + "\n" + slack.Dump() }

	// A destructive command never takes a group: refused when parsed.
	if code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "delete group:staging"); code != http.StatusOK || !strings.Contains(replyText(body), "`delete` takes exactly one server") {
		t.Errorf("delete group:staging = %d %q; want a refusal", code, replyText(body))
	}

	// Two servers, within BLAST_RADIUS: at once, listed, each started.
	if code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "start group:staging"); code != http.StatusOK || !strings.Contains(replyText(body), "Working on") {
		t.Fatalf("start group:staging = %d %q", code, replyText(body))
	}
	slack.WaitCall(t, "chat.update", "done on all 2 servers in `staging.acme`", "`stage1.staging.acme`: stage1.staging.acme started", "`stage2.staging.acme`: stage2.staging.acme started")

	// Three servers, beyond it: a card from rule 1's approvers, listing them.
	before := bottest.Writes(fake.Server)
	bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "reset web*")
	c := slack.WaitCard(t, 1)
	blocks := slacktest.UnescapeJSON(c.Blocks)
	for _, want := range []string{"*Servers (3)*", "`web1.default.acme`", "`web2.default.acme`", "`web3.default.acme`",
		"more than BLAST_RADIUS (2)", "rule 1 (line 4) asks for 1 from <@UAPPROVE1>, <@UAPPROVE2>, <@UASKER001> (ops)"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("card lacks %q:\n%s", want, blocks)
		}
	}
	if n := bottest.Writes(fake.Server) - before; n != 0 {
		t.Fatalf("%d writes before the approval\n%s", n, dump())
	}
	if code, _ := bot.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatal(code)
	}
	slack.WaitCall(t, "chat.update", "`reset web*` (for <@UASKER001>, approved by <@UAPPROVE1>): done on all 3 servers")
	for _, s := range []string{"web1", "web2", "web3"} {
		if n := signals(fake.Server, s); n != 1 {
			t.Errorf("resets of %s = %d; want 1\n%s", s, n, dump())
		}
	}
	if n := bottest.Writes(fake.Server) - before; n != 3 {
		t.Errorf("Bytemark writes = %d; want the 3 resets\n%s", n, dump())
	}
}
