package bot_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
)

// TestWrongSuffixRefused: a name with anything after the account other
// than the API's hostname suffix is refused with a clear message, never
// trimmed: no purge card, no show of web1.
func TestWrongSuffixRefused(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1.default.acme.uk1.bigv.io")
	h.WaitPost("Not running", "purge web1.default.acme.uk1.bigv.io", "hostname is `web1.default.acme.uk0.bigv.io`")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "show web1.default.acme.uk0.bigv.io.evil.com")
	m := h.waitAnswer("Not running", "show web1.default.acme.uk0.bigv.io.evil.com", "must be exactly `uk0.bigv.io`")
	if strings.Contains(m.Form.Get("text"), " is on") {
		t.Errorf("web1 shown: %q", m.Form.Get("text"))
	}
	if len(h.Slack.Cards()) != 0 {
		t.Errorf("an approval card was posted:\n%s", h.Slack.Dump())
	}
	// The API's own suffix is a name of web1.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "show web1.default.acme.uk0.bigv.io")
	h.waitAnswer("web1.default.acme is on")
	if n := h.Writes(); n != 0 {
		t.Errorf("%d Bytemark writes; want none", n)
	}
}

// TestAuditByAlias: `audit web1` shows what was asked as 1001 (and the
// other way round), under the canonical name.
func TestAuditByAlias(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart 1001")
	h.WaitPost("web1.default.acme restarted")
	h.WaitFor("the job's audit entry", func() bool {
		es, err := h.Store.AuditLog(t.Context(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Outcome == "done" {
				if e.Server != "web1.default.acme" || !strings.Contains(e.Detail, "server 1001") {
					t.Fatalf("audit entry server = %q, detail %q; want the canonical name and the ID", e.Server, e.Detail)
				}
				return true
			}
		}
		return false
	})
	for _, name := range []string{"web1", "1001", "web1.default.acme.uk0.bigv.io", "web1.11.1"} {
		body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "audit "+name)
		if !strings.Contains(body.Text, "restart 1001") || !strings.Contains(body.Text, "*done*") {
			t.Errorf("audit %s = %q; want the restart asked as 1001", name, body.Text)
		}
	}
	body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "audit web1.default.acme.uk1.bigv.io")
	if !strings.Contains(body.Text, "`uk0.bigv.io`") {
		t.Errorf("audit with a wrong suffix = %q; want it refused", body.Text)
	}
	body = h.MustSlash(bottest.UserAsker, bottest.ChanOps, "audit web2")
	if strings.Contains(body.Text, "restart") {
		t.Errorf("audit web2 = %q; want nothing of web1", body.Text)
	}
}

// TestPurgeRenamedAfterCheck: the server approved for a purge is renamed
// away, and another takes its name, between the last check and the purge
// call. The call names the approved server by its ID: the approved server
// is purged, the one renamed into its place is untouched.
func TestPurgeRenamedAfterCheck(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b := h.WaitCard(1)
	var renamed atomic.Bool
	h.Fake.OnRequest(func(method, path string) {
		if method == http.MethodDelete && renamed.CompareAndSwap(false, true) {
			if !h.Fake.Rename("acme", "default", "web2", "web2-old") || !h.Fake.Rename("acme", "default", "web1", "web2") {
				t.Error("renaming in the fake failed")
			}
		}
	})
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	h.WaitPost("purged: the server and its discs are gone")
	if !renamed.Load() {
		t.Fatal("no purge call")
	}
	if s, ok := h.Fake.Server("acme", "default", "web2"); !ok || s.ID != 1001 || s.Deleted || len(s.Discs) == 0 {
		t.Errorf("the server renamed into place (ID 1001) = %+v, %v; want it untouched", s, ok)
	}
	if _, ok := h.Fake.Server("acme", "default", "web2-old"); ok {
		t.Error("the approved server (ID 1002, now web2-old) was not purged")
	}
	if n := h.Fake.Calls("DELETE", "/virtual_machines/1002"); n != 1 {
		t.Errorf("purge calls by ID = %d; want 1", n)
	}
}

// TestReimageRenamedAfterCheck: as TestPurgeRenamedAfterCheck, for a
// reimage: the server approved for it is renamed away, and another takes
// its name, just before the reimage call. The call names the approved
// server by its ID: the approved server is reimaged, the one renamed into
// its place keeps its system.
func TestReimageRenamedAfterCheck(t *testing.T) {
	h := newHarness(t)
	h.Fake.SetPower("acme", "default", "web2", false) // off: no shutdown before the reimage
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "reimage web2 noble")
	b := h.WaitCard(1)
	var renamed atomic.Bool
	h.Fake.OnRequest(func(method, path string) {
		if method == http.MethodPost && strings.HasSuffix(path, "/reimage") && renamed.CompareAndSwap(false, true) {
			if !h.Fake.Rename("acme", "default", "web2", "web2-old") || !h.Fake.Rename("acme", "default", "web1", "web2") {
				t.Error("renaming in the fake failed")
			}
		}
	})
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	h.WaitFor("the reimage call", func() bool { return h.reimages() == 1 })
	if !renamed.Load() {
		t.Fatal("the server was not renamed before the reimage call")
	}
	if s, ok := h.Fake.Server("acme", "default", "web2"); !ok || s.ID != 1001 || s.LastImagedWith != "bookworm" {
		t.Errorf("the server renamed into place (ID 1001) = %+v, %v; want it untouched", s, ok)
	}
	if s, ok := h.Fake.Server("acme", "default", "web2-old"); !ok || s.LastImagedWith != "noble" {
		t.Errorf("the approved server (ID 1002, now web2-old) = %+v, %v; want it reimaged with noble", s, ok)
	}
	if n := h.Fake.Calls("POST", "/virtual_machines/1002/reimage"); n != 1 {
		t.Errorf("reimage calls by ID = %d; want 1", n)
	}
}
