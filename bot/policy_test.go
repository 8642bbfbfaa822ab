package bot_test

import (
	"strings"
	"testing"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/commands/policy"
	"github.com/bytebot/bytebot/internal/bottest"
)

// mustPolicy loads a policy file's text.
func mustPolicy(t *testing.T, yaml string) *policy.Policy {
	t.Helper()
	p, err := policy.Load("policy.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTicketKeepsItsApprovers: a ticket is voted on by the approvers of
// the rule that asked for it, whatever policy is loaded by the time the
// vote comes (another replica, or a SIGHUP reload); the card says which
// rule asked and who may approve.
func TestTicketKeepsItsApprovers(t *testing.T) {
	first := mustPolicy(t, `roles:
  ops: [UAPPROVE1]
  leads: [UAPPROVE2]
rules:
  - actions: [purge]
    approvers: [ops]
    approvals: 1
`)
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Rules = first }))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	c := h.WaitCard(1)
	if !strings.Contains(c.Blocks, "rule 1 (line 5) asks for 1 from \\u003c@UAPPROVE1\\u003e (ops)") {
		t.Errorf("card lacks the rule and its approvers:\n%s", c.Blocks)
	}
	// The policy changes: leads approve purges now.
	h.Server.SetPolicy(mustPolicy(t, `roles:
  ops: [UAPPROVE1]
  leads: [UAPPROVE2]
rules:
  - actions: [purge]
    approvers: [leads]
    approvals: 1
`))
	h.Click(bottest.UserAppr2, bottest.ChanOps, c, "approve")
	h.WaitFor("a refusal of the new policy's approver", func() bool {
		return len(h.Slack.Find("chat.postEphemeral", "aren't one of the approvers")) > 0
	})
	if tk, _ := h.Store.Get(t.Context(), c.Ticket); tk.State != approvals.StatePending {
		t.Fatalf("ticket %s after a vote by someone its rule didn't name; want pending", tk.State)
	}
	h.Click(bottest.UserAppr1, bottest.ChanOps, c, "approve")
	h.WaitPost("web1.default.acme purged")
	// A new request is decided by the new policy.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	if c := h.WaitCard(2); !strings.Contains(c.Blocks, "(leads)") {
		t.Errorf("a card after the reload doesn't name the new rule's approvers:\n%s", c.Blocks)
	}
}
