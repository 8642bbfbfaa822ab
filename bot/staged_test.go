package bot_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// withGrace stages approved purges for d (PURGE_GRACE).
func withGrace(d time.Duration) bottest.Option {
	return bottest.WithConfig(func(c *bot.Config) { c.PurgeGrace = d })
}

// undeletes counts the undeletes (PUT {"deleted":false}) the fake got for
// server (by name or by its ID).
func (h *harness) undeletes(server string) int {
	n := 0
	for _, r := range h.Fake.Requests() {
		if r.Method == http.MethodPut && (strings.HasSuffix(r.Path, "/"+server) || strings.HasSuffix(r.Path, "/"+bottest.SeedIDs[server])) &&
			strings.Contains(r.Body, `"deleted":false`) {
			n++
		}
	}
	return n
}

// audited reports whether the audit log has an entry with outcome for
// ticket (any ticket when empty) by actor (anyone when empty) whose detail
// has detail.
func (h *harness) audited(outcome, ticket, actor, detail string) bool {
	h.T.Helper()
	es, err := h.Store.AuditLog(context.Background(), "", 100)
	if err != nil {
		h.T.Fatal(err)
	}
	for _, e := range es {
		if e.Outcome == outcome && (ticket == "" || e.Ticket == ticket) && (actor == "" || e.Actor == actor) && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

// approveStaged asks for `purge web1`, checks the card says web1 is in use
// now, approves it and returns the card and the countdown's Undo button.
func approveStaged(h *harness) (card, undo slacktest.Card) {
	h.T.Helper()
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	card = h.WaitCard(1)
	if post := h.Slack.Find("chat.postMessage", card.Ticket)[0]; !post.Has(":warning: *`web1.default.acme", "is running and was never deleted: it is in use now.*") {
		h.T.Errorf("the card of a purge of a running server doesn't say in bold that it is in use now:\n%s", post.BlocksJSON())
	}
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, card, slackui.ActionApprove); code != http.StatusOK {
		h.T.Fatalf("approve = %d", code)
	}
	undo = h.Slack.WaitButton(h.T, slackui.ActionUndo, "will be purged at")
	return card, undo
}

// TestStagedPurgeUndo: approving a purge of a running server soft-deletes
// it and turns the card into a countdown with Undo; someone not entitled
// is refused; the requester's Undo undeletes it (one PUT however many
// press at once), the card says who undid it, and the audit has each step.
func TestStagedPurgeUndo(t *testing.T) {
	h := newHarness(t, withGrace(time.Hour))
	card, undo := approveStaged(h)
	if undo.TS != card.TS || undo.Ticket != card.Ticket || undo.BlockID != slackui.UndoPrefix+bottest.ChanOps {
		t.Errorf("Undo button = %+v; want on the card %s, for ticket %s, bound to %s", undo, card.TS, card.Ticket, bottest.ChanOps)
	}
	if srv, ok := h.Fake.Server("acme", "default", "web1"); !ok || !srv.Deleted {
		t.Fatalf("web1 after approval = %+v, %v; want it soft-deleted", srv, ok)
	}
	if n := h.Purges("web1"); n != 0 {
		t.Fatalf("purge calls during the grace = %d; want 0", n)
	}
	h.WaitPost("will be purged at", "unless <@"+bottest.UserAsker+"> or an approver presses *Undo*")
	if !h.audited("staged", card.Ticket, bottest.UserAsker, "purge due at") {
		t.Errorf("no staged audit entry with the due time")
	}
	// Countdown text: the due time in Slack's date format, with a UTC fallback.
	if c := h.Slack.Find("chat.update", "will be purged at", "<!date^"); len(c) == 0 {
		t.Errorf("the countdown doesn't show the due time:\n%s", h.Slack.Dump())
	}

	// Someone who neither asked nor approves.
	h.Click(bottest.UserOther, bottest.ChanOps, undo, slackui.ActionUndo)
	h.Slack.WaitEphemeral(t, bottest.UserOther, "Only <@"+bottest.UserAsker+"> (who asked) or an approver can undo this")
	// From another channel.
	h.Click(bottest.UserAsker, bottest.ChanOther, undo, slackui.ActionUndo)
	h.Slack.WaitEphemeral(t, bottest.UserAsker, "belongs to another channel")
	if n := h.undeletes("web1"); n != 0 {
		t.Fatalf("undeletes after refused presses = %d; want 0", n)
	}

	// The requester and an approver press at once, five times each.
	var wg sync.WaitGroup
	for i := range 10 {
		user := bottest.UserAsker
		if i%2 == 1 {
			user = bottest.UserAppr1
		}
		wg.Go(func() { h.Click(user, bottest.ChanOps, undo, slackui.ActionUndo) })
	}
	wg.Wait()
	h.WaitPost("Undone by", "the purge of `web1.default.acme` is called off", "is undeleted")
	h.WaitFor("the other presses to be told", func() bool { return len(h.Slack.Find("chat.postEphemeral", "Already undone by")) == 9 })
	if n := h.undeletes("web1"); n != 1 {
		t.Errorf("undeletes after 10 presses = %d; want 1", n)
	}
	if srv, ok := h.Fake.Server("acme", "default", "web1"); !ok || srv.Deleted {
		t.Errorf("web1 after Undo = %+v, %v; want it undeleted", srv, ok)
	}
	h.WaitFor("the card to say who undid it, without Undo", func() bool {
		for _, c := range h.Slack.Find("chat.update", "Undone by") {
			if _, ok := slacktest.ButtonOf(c, slackui.ActionUndo); !ok && c.Form.Get("ts") == card.TS && c.Has("is undeleted") {
				return true
			}
		}
		return false
	})
	tk, err := h.Store.Get(context.Background(), card.Ticket)
	if err != nil || tk.Purge.State != approvals.PurgeUndone {
		t.Fatalf("ticket = %+v, %v; want its purge undone", tk.Purge, err)
	}
	if !h.audited("undone", card.Ticket, tk.Purge.By, "cancelled by "+tk.Purge.By) || !h.audited("undeleted", card.Ticket, tk.Purge.By, "") {
		t.Errorf("audit lacks the Undo by %s and the undelete", tk.Purge.By)
	}
	if n := h.Purges("web1"); n != 0 {
		t.Errorf("purge calls after Undo = %d; want 0", n)
	}
}

// TestStagedPurgeFallsDue: at the end of the grace the server, still
// deleted and as approved, is purged once by its ID; the card shows it
// purged, without Undo; an Undo then is "too late" and calls nothing.
func TestStagedPurgeFallsDue(t *testing.T) {
	h := newHarness(t, withGrace(300*time.Millisecond))
	card, undo := approveStaged(h)
	h.WaitPost("purged at the end of its grace")
	if n := h.Purges("web1"); n != 1 {
		t.Errorf("purge calls = %d; want 1", n)
	}
	h.WaitFor("the card to show the purge, without Undo", func() bool {
		for _, c := range h.Slack.Find("chat.update", "Purged at") {
			if _, ok := slacktest.ButtonOf(c, slackui.ActionUndo); !ok && c.Form.Get("ts") == card.TS {
				return true
			}
		}
		return false
	})
	h.WaitFor("the purge to be audited", func() bool { return h.audited("purged", card.Ticket, bottest.UserAsker, "server 1001") })
	before := len(h.Fake.Requests())
	h.Click(bottest.UserAsker, bottest.ChanOps, undo, slackui.ActionUndo)
	h.Slack.WaitEphemeral(t, bottest.UserAsker, "Too late: `web1.default.acme` was purged", "Nothing was done")
	if n := len(h.Fake.Requests()); n != before {
		t.Errorf("an Undo after the purge made %d Bytemark calls; want none", n-before)
	}
}

// TestStagedPurgeRefusedWhenUndeleted: a server undeleted (by a command)
// during the grace is not purged when the grace ends, and the card says
// why.
func TestStagedPurgeRefusedWhenUndeleted(t *testing.T) {
	h := newHarness(t, withGrace(time.Second))
	card, _ := approveStaged(h)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "undelete web1")
	h.WaitPost("web1.default.acme undeleted")
	h.WaitPost("is not deleted any more")
	h.WaitFor("the card to say it was not purged", func() bool {
		for _, c := range h.Slack.Find("chat.update", "Not purged", "not deleted any more") {
			if c.Form.Get("ts") == card.TS {
				return true
			}
		}
		return false
	})
	if n := h.Purges("web1"); n != 0 {
		t.Errorf("purge calls = %d; want 0", n)
	}
}

// TestPurgeOfDeletedServerAtOnce: a server already deleted is purged at
// once after approval, grace or not: its grace was the deletion.
func TestPurgeOfDeletedServerAtOnce(t *testing.T) {
	h := newHarness(t, withGrace(time.Hour))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge old1")
	card := h.WaitCard(1)
	if post := h.Slack.Find("chat.postMessage", card.Ticket)[0]; post.Has("in use now") {
		t.Errorf("the card of a deleted server says it is in use")
	}
	h.Click(bottest.UserAppr1, bottest.ChanOps, card, slackui.ActionApprove)
	h.WaitPost("old1.default.acme purged")
	if n := h.Purges("old1"); n != 1 {
		t.Errorf("purge calls = %d; want 1", n)
	}
	if len(h.Slack.Find("", "will be purged at")) != 0 {
		t.Errorf("a deleted server's purge was staged")
	}
}

// TestDeleteUndelete: the result of a delete carries an Undelete button for
// the requester and the approvers, and says how long Bytemark keeps it
// only as far as the API says; one press undeletes once.
func TestDeleteUndelete(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "delete web2")
	card := h.WaitCard(1)
	h.Click(bottest.UserAppr1, bottest.ChanOps, card, slackui.ActionApprove)
	b := h.Slack.WaitButton(t, slackui.ActionUndelete, "web2.default.acme deleted", "doesn't say how long")
	if b.BlockID != slackui.UndoPrefix+bottest.ChanOps {
		t.Errorf("Undelete bound to %q; want %s", b.BlockID, bottest.ChanOps)
	}
	if srv, _ := h.Fake.Server("acme", "default", "web2"); !srv.Deleted {
		t.Fatal("web2 not deleted")
	}
	h.Click(bottest.UserOther, bottest.ChanOps, b, slackui.ActionUndelete)
	h.Slack.WaitEphemeral(t, bottest.UserOther, "Only <@"+bottest.UserAsker+"> (who asked) or an approver")
	var wg sync.WaitGroup
	for _, u := range []string{bottest.UserAsker, bottest.UserAppr1, bottest.UserAsker, bottest.UserAppr1} {
		wg.Go(func() { h.Click(u, bottest.ChanOps, b, slackui.ActionUndelete) })
	}
	wg.Wait()
	h.WaitFor("the result to say who pressed Undelete", func() bool {
		for _, c := range h.Slack.Find("chat.update", "Undelete pressed by", "is undeleted") {
			if _, ok := slacktest.ButtonOf(c, slackui.ActionUndelete); !ok && c.Form.Get("ts") == b.TS {
				return true
			}
		}
		return false
	})
	h.WaitFor("the other presses to be told", func() bool { return len(h.Slack.Find("chat.postEphemeral", "Already pressed by")) == 3 })
	if n := h.undeletes("web2"); n != 1 {
		t.Errorf("undeletes = %d; want 1", n)
	}
	if srv, _ := h.Fake.Server("acme", "default", "web2"); srv.Deleted {
		t.Error("web2 still deleted")
	}
}
