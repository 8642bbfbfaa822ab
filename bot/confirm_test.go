package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// openModal presses Approve on card c as user and returns the modal it
// opened; it fails the test if none opened.
func (h *harness) openModal(user string, c slacktest.Card) slacktest.View {
	h.T.Helper()
	code, k := h.Press(user, bottest.ChanOps, c, slackui.ActionApprove)
	if code != http.StatusOK {
		h.T.Fatalf("approve press = %d", code)
	}
	v, ok := h.Slack.ViewOpenedBy(k.TriggerID)
	if !ok {
		h.T.Fatalf("the approve press opened no modal:\n%s", h.Slack.Dump())
	}
	return v
}

// ticket reads ticket id.
func (h *harness) ticket(id string) approvals.Ticket {
	h.T.Helper()
	tk, err := h.Store.Get(context.Background(), id)
	if err != nil {
		h.T.Fatal(err)
	}
	return tk
}

// nameError is the error a view_submission answer shows under the name.
func nameError(a bottest.ViewAnswer) string {
	if a.ResponseAction != "errors" {
		return ""
	}
	return a.Errors[slackui.BlockConfirmName]
}

// TestTypeTheName: Approve on a purge opens a modal that shows what will be
// destroyed and counts nothing; a wrong name keeps it open with an error
// on the name and counts nothing (audited); the right name closes it,
// counts exactly one vote, and the purge runs once.
func TestTypeTheName(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Workers = 1 }))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b := h.WaitCard(1)
	for _, btn := range h.Slack.Find("chat.postMessage", b.Ticket)[0].Buttons() {
		if btn.ActionID == slackui.ActionApprove && btn.Confirm {
			t.Errorf("the purge's Approve button has a confirm dialog; want the modal alone")
		}
	}

	v := h.openModal(bottest.UserAppr1, b)
	for _, want := range []string{"purge web2.default.acme", "can't be undone", "root", "25 GiB", `"` + slackui.BlockConfirmName + `"`, "web2.default.acme"} {
		if !strings.Contains(v.Blocks, want) {
			t.Errorf("modal lacks %q:\n%s", want, v.Blocks)
		}
	}
	if v.CallbackID != slackui.CallbackConfirm || !strings.HasPrefix(v.PrivateMetadata, b.Ticket+" ") {
		t.Errorf("modal callback %q, metadata %q; want %q and the ticket", v.CallbackID, v.PrivateMetadata, slackui.CallbackConfirm)
	}
	if tk := h.ticket(b.Ticket); len(tk.Approvers) != 0 || tk.State != approvals.StatePending {
		t.Fatalf("after the press the ticket is %s with %v; want pending, no approvals", tk.State, tk.Approvers)
	}

	for _, wrong := range []string{"web1", "web2.default.acme.uk1.bigv.io", "1001", "", "web"} {
		code, ans := h.Submit(bottest.UserAppr1, v, wrong)
		if code != http.StatusOK || !strings.Contains(nameError(ans), "isn't the name") && !strings.Contains(nameError(ans), "takes the server's name") {
			t.Errorf("submitting %q = %d %+v; want errors on %s", wrong, code, ans, slackui.BlockConfirmName)
		}
	}
	if n := bottest.Count(h.AuditOutcomes(bottest.UserAppr1), "approve refused"); n != 4 {
		t.Errorf("audit has %d refused approvals by %s; want 4 (the wrong names; the empty one is no name)", n, bottest.UserAppr1)
	}
	// The positive signal that nothing counted: the right name afterwards
	// counts exactly one vote, and the purge runs once.
	code, ans := h.Submit(bottest.UserAppr1, v, " Web2 ")
	if code != http.StatusOK || ans.ResponseAction != "" {
		t.Fatalf("submitting the right name = %d %+v; want an empty 200 (the modal closes)", code, ans)
	}
	h.WaitPost(":white_check_mark:", "web2")
	h.marker()
	if tk := h.ticket(b.Ticket); !slices.Equal(tk.Approvers, []string{bottest.UserAppr1}) || tk.State != approvals.StateApproved {
		t.Errorf("ticket = %s with %v; want approved by %s alone", tk.State, tk.Approvers, bottest.UserAppr1)
	}
	if n := h.Purges("web2"); n != 1 {
		t.Errorf("purge calls = %d; want 1", n)
	}
	if _, ok := h.Fake.Server("acme", "default", "web2"); ok {
		t.Error("web2 still exists")
	}
}

// TestTypeTheNameAliases: any name the API says is the server counts (short,
// canonical, hostname, ID, name.group); a name with another suffix or of
// another server does not.
func TestTypeTheNameAliases(t *testing.T) {
	voters := []string{bottest.UserAppr1, bottest.UserAppr2, "UAPPROVE3", "UAPPROVE4", "UAPPROVE5", "UAPPROVE6"}
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) {
		c.Approvers = voters
		c.ApprovalsRequired = len(voters)
	}))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b := h.WaitCard(1)
	for i, name := range []string{"web2", "WEB2.default.acme", "web2.default.acme.uk0.bigv.io", "1002", "web2.default", "web2.11.acme"} {
		v := h.openModal(voters[i], b)
		if code, ans := h.Submit(voters[i], v, name); code != http.StatusOK || ans.ResponseAction != "" {
			t.Errorf("%q = %d %+v; want it to count", name, code, ans)
		}
		if n := len(h.ticket(b.Ticket).Approvers); n != i+1 {
			t.Errorf("after %q the ticket has %d approvals; want %d", name, n, i+1)
		}
	}
	h.WaitFor("the purge", func() bool { return h.Purges("web2") == 1 })
}

// TestTypeTheNameRefusals: the requester gets no modal (and a forged
// submission of theirs counts nothing); a non-approver gets no modal; a
// submission after the ticket was cancelled is told so; Deny needs no
// typing; an approval of an action that can be undone (delete) keeps its
// confirm dialog and counts at once.
func TestTypeTheNameRefusals(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	b := h.WaitCard(1)

	_, k := h.Press(bottest.UserAsker, bottest.ChanOps, b, slackui.ActionApprove)
	h.Slack.WaitEphemeral(t, bottest.UserAsker, "someone else")
	if _, ok := h.Slack.ViewOpenedBy(k.TriggerID); ok {
		t.Error("the requester's press opened a modal")
	}
	_, k = h.Press(bottest.UserOther, bottest.ChanOps, b, slackui.ActionApprove)
	h.Slack.WaitEphemeral(t, bottest.UserOther, "aren't one of the approvers")
	if _, ok := h.Slack.ViewOpenedBy(k.TriggerID); ok {
		t.Error("a non-approver's press opened a modal")
	}

	v := h.openModal(bottest.UserAppr1, b)
	// The requester submitting an approver's modal (the check at
	// submission), and a non-approver doing so: nothing counts.
	if _, ans := h.Submit(bottest.UserAsker, v, "web1"); !strings.Contains(nameError(ans), "someone else") {
		t.Errorf("the requester's submission = %+v; want refused", ans)
	}
	if _, ans := h.Submit(bottest.UserOther, v, "web1"); !strings.Contains(nameError(ans), "aren't one of the approvers") {
		t.Errorf("a non-approver's submission = %+v; want refused", ans)
	}
	if body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "cancel "+b.Ticket); !strings.Contains(body.Text, "Cancelled") {
		t.Fatalf("cancel = %q", body.Text)
	}
	if _, ans := h.Submit(bottest.UserAppr1, v, "web1"); !strings.Contains(nameError(ans), "was cancelled") {
		t.Errorf("submission after cancel = %+v; want it told the request was cancelled", ans)
	}
	if tk := h.ticket(b.Ticket); len(tk.Approvers) != 0 || tk.State != approvals.StateCancelled {
		t.Errorf("ticket = %s with %v; want cancelled, no approvals", tk.State, tk.Approvers)
	}

	// Deny: no modal.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b2 := h.WaitCard(2)
	_, k = h.Press(bottest.UserAppr1, bottest.ChanOps, b2, slackui.ActionDeny)
	h.WaitFor("the denied card", func() bool { return len(h.Slack.Find("chat.update", "Denied by <@"+bottest.UserAppr1+">")) > 0 })
	if _, ok := h.Slack.ViewOpenedBy(k.TriggerID); ok {
		t.Error("Deny opened a modal")
	}

	// delete can be undone: its Approve keeps the confirm dialog and votes.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "delete db1")
	b3 := h.WaitCard(3)
	confirm := false
	for _, btn := range h.Slack.Find("chat.postMessage", b3.Ticket)[0].Buttons() {
		confirm = confirm || btn.ActionID == slackui.ActionApprove && btn.Confirm
	}
	if !confirm {
		t.Error("the delete's Approve button has no confirm dialog")
	}
	_, k = h.Press(bottest.UserAppr1, bottest.ChanOps, b3, slackui.ActionApprove)
	h.WaitPost("db1.default.acme")
	if _, ok := h.Slack.ViewOpenedBy(k.TriggerID); ok {
		t.Error("approving a delete opened a modal")
	}
	if n := h.Purges("web1") + h.Purges("web2"); n != 0 {
		t.Errorf("purge calls = %d; want 0", n)
	}
}

// TestTypeTheNameTriggerExpired: a modal that can't be opened (the press's
// trigger expired) counts nothing, and the presser is told to press again.
func TestTypeTheNameTriggerExpired(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	b := h.WaitCard(1)
	k := slacktest.ClickOn(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove) // a trigger the stand-in never handed out
	if code := h.serveBody(k.Body()); code != http.StatusOK {
		t.Fatalf("press = %d", code)
	}
	h.Slack.WaitEphemeral(t, bottest.UserAppr1, "press Approve again")
	if tk := h.ticket(b.Ticket); len(tk.Approvers) != 0 {
		t.Errorf("ticket approvals = %v; want none", tk.Approvers)
	}
}

// serveBody serves a signed interaction body and returns the status.
func (h *harness) serveBody(body []byte) int {
	h.T.Helper()
	w := httptest.NewRecorder()
	h.Handler.ServeHTTP(w, bottest.Signer.Request("/slack/interactions", body))
	return w.Code
}
