package reliability

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/internal/bottest"
)

// Scenario 9: a user outside ALLOWED_USERS, a channel outside
// ALLOWED_CHANNELS, a non-approver, and the requester approving their own
// ticket are each refused with a reason, and make no Bytemark API call.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	ip := newInproc(t, inprocOpts{executor: true, cfg: func(c *bot.Config) {
		c.AllowedUsers = []string{bottest.UserAsker, bottest.UserAppr1, bottest.UserAppr2, bottest.UserOther}
		c.AllowedChannels = []string{bottest.ChanOps, bottest.ChanOther}
		c.Workers = 1 // for settled
	}})
	before := len(ip.fake.Requests())

	for _, tc := range []struct {
		user, channel, want string
	}{
		{"UOUTSIDE1", bottest.ChanOps, "aren't allowed"},
		{bottest.UserAsker, "CNOTLISTED", "isn't enabled in this channel"},
	} {
		for _, cmd := range []string{"purge web1", "reset web1", "list", "approvals"} {
			code, text := ip.slash(tc.user, tc.channel, cmd)
			if code != http.StatusOK || !strings.Contains(text, tc.want) {
				t.Errorf("%s in %s: %q = %d %q; want a refusal saying %q", tc.user, tc.channel, cmd, code, text, tc.want)
			}
		}
	}
	if calls := ip.settled(t, before); len(calls) != 0 {
		t.Errorf("refused commands made Bytemark calls %v; want none", calls)
	}

	// A ticket, then clicks that must be refused.
	ip.slash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	c := ip.Slack.WaitCard(t, 1)
	waitFor(t, 5*time.Second, "the card to be recorded", func() bool {
		tk, err := ip.Store.Get(t.Context(), c.Ticket)
		return err == nil && tk.MessageTS != ""
	}, ip.dump)
	before = len(ip.fake.Requests())

	for _, tc := range []struct {
		name, user, channel string
		c                   card
		want                string
	}{
		{"non-approver", bottest.UserOther, bottest.ChanOps, c, "aren't one of the approvers"},
		{"outside ALLOWED_USERS", "UOUTSIDE1", bottest.ChanOps, c, "aren't one of the approvers"},
		{"self-approval", bottest.UserAsker, bottest.ChanOps, c, "someone else has to"},
		{"from another channel", bottest.UserAppr1, bottest.ChanOther, c, "belongs to another channel"},
		{"forged ticket", bottest.UserAppr1, bottest.ChanOps, card{Ticket: "zzzzzzzzzz", BlockID: c.BlockID, TS: c.TS}, "no longer exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := ip.click(tc.user, tc.channel, tc.c, "approve"); code != http.StatusOK {
				t.Fatalf("click = %d; want 200 and a private refusal", code)
			}
			if tc.want != "" {
				ip.ephemeralTo(tc.user, tc.want)
			}
		})
	}
	if calls := ip.settled(t, before); len(calls) != 0 {
		t.Errorf("refused clicks made Bytemark calls %v; want none", calls)
	}
	tk, err := ip.Store.Get(t.Context(), c.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if tk.State != approvals.StatePending || len(tk.Approvers) != 0 {
		t.Errorf("ticket after refused clicks: state %s, approvers %v; want pending with none\n%s", tk.State, tk.Approvers, ip.dump())
	}
	if n := ip.Purges("web1"); n != 0 {
		t.Errorf("purge calls = %d; want 0", n)
	}

	// A refused user cannot cancel someone else's ticket either.
	if _, text := ip.slash(bottest.UserOther, bottest.ChanOps, "cancel "+c.Ticket); !strings.Contains(text, "Only the person who asked") {
		t.Errorf("cancel by another user = %q; want a refusal", text)
	}
	// And the rightful approver still can approve.
	if code := ip.click(bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatal(code)
	}
	ip.Slack.WaitPost(t, "web1.default.acme purged")
	if n := ip.Purges("web1"); n != 1 {
		t.Errorf("purge calls = %d; want 1", n)
	}
}

// Scenario 9 (hardening): a click is bound to the channel of the ticket as
// Redis records it, not only to the block_id the click carries. Here the
// click comes from another channel with a block_id naming that channel
// (what a card for this ticket would carry had it been posted there): it
// must be refused like any click from another channel.
func TestClickBoundToTicketChannel(t *testing.T) {
	t.Parallel()
	ip := newInproc(t, inprocOpts{executor: true, cfg: oneWorker})
	ip.slash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	c := ip.Slack.WaitCard(t, 1)
	moved := card{Ticket: c.Ticket, BlockID: "approval:" + bottest.ChanOther, TS: c.TS}
	if code := ip.click(bottest.UserAppr1, bottest.ChanOther, moved, "approve"); code != http.StatusOK {
		t.Fatalf("click = %d", code)
	}
	ip.ephemeralTo(bottest.UserAppr1, "another channel")
	ip.settled(t, 0) // a purge wrongly approved would have run by now
	tk, err := ip.Store.Get(t.Context(), c.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if tk.State != approvals.StatePending || ip.Purges("web1") != 0 {
		t.Errorf("a click from %s approved a ticket asked in %s: state %s, purges %d", bottest.ChanOther, bottest.ChanOps, tk.State, ip.Purges("web1"))
	}
}
