package bot_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
)

// creates counts the vm_create calls the fake received.
func (h *harness) creates() int {
	n := 0
	for _, r := range h.Fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/vm_create") {
			n++
		}
	}
	return n
}

// TestCreateThroughApproval: with `create` in APPROVAL_ACTIONS, a create
// posts a card that shows what will be created and what it costs, and
// creates nothing; after the approval the job creates it, once, and the
// root password reaches the requester alone, privately.
func TestCreateThroughApproval(t *testing.T) {
	h, logs, rec := privateHarness(t, bottest.WithPolicy(t, "delete,create"))
	body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "create new1 cores 2 memory 4G disc 50G:ssd image bookworm")
	if !strings.Contains(body.Text, "needs approval") {
		t.Errorf("create reply = %q; want it to need approval", body.Text)
	}
	b := h.WaitCard(1)
	card := h.Slack.Find("chat.postMessage", b.Ticket)[0].BlocksJSON()
	for _, want := range []string{"Approval needed: create new1", "new1.default.acme", "What it creates", "2 cores", "4 GiB", "50 GiB", "ssd", "bookworm", "costs money", "bills a server"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if n := h.creates(); n != 0 {
		t.Fatalf("vm_create calls before approval = %d; want 0", n)
	}
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	h.WaitPost("new1.default.acme is up with bookworm")
	pw := rootPassword(t, h, "new1.default.acme")
	if n := h.creates(); n != 1 {
		t.Errorf("vm_create calls = %d; want 1", n)
	}
	srv, ok := h.Fake.Server("acme", "default", "new1")
	if !ok || srv.Cores != 2 || srv.Memory != 4096 || len(srv.Discs) != 1 || srv.Discs[0].StorageGrade != "ssd" {
		t.Errorf("new1 = %+v, %v; want 2 cores, 4 GiB, one ssd disc", srv, ok)
	}
	h.WaitFor("the card's final note", func() bool { return len(h.Slack.Find("chat.update", ":white_check_mark:", "new1")) > 0 })
	assertOnlyPrivate(t, h, logs, rec, pw)
}

// TestCreateApprovalRefusedUpFront: a create whose server already exists
// or whose image is unknown gets no card: the answer says why, and
// nothing is created.
func TestCreateApprovalRefusedUpFront(t *testing.T) {
	h := newHarness(t, bottest.WithPolicy(t, "create"))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "create web1")
	h.WaitPost("already a server called")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "create new2 image windows95")
	h.WaitPost("windows95")
	if n := len(h.Slack.Cards()); n != 0 {
		t.Errorf("%d cards posted; want none", n)
	}
	if n := h.creates(); n != 0 {
		t.Errorf("vm_create calls = %d; want 0", n)
	}
}
