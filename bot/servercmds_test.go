package bot_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
)

// TestServerCommandsThroughSlack runs each server command as typed in
// Slack against the fake, and bad input that must write nothing.
func TestServerCommandsThroughSlack(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct{ in, want string }{
		{"images", "7 images to create or reimage servers with"},
		{"resize web2 cores 4 memory 8G", "web2.default.acme resized: 2 cores → 4 cores"},
		{"rename web2 www2", "www2.default.acme renamed to www2 (was web2)"},
		{"rescue www2", "www2.default.acme started in the rescue system"},
		{"move www2 staging", "www2.staging.acme moved from group default.acme to staging.acme (shut down, moved and started again)"},
		{"create new1 no-image", "new1.default.acme created with no operating system"},
	} {
		h.MustSlash(bottest.UserAsker, bottest.ChanOps, tt.in)
		if tt.in == "images" { // a read: its answer is the asker's alone
			h.waitAnswer(tt.want)
			continue
		}
		h.WaitPost(tt.want)
	}
	if s, ok := h.Fake.Server("acme", "staging", "www2"); !ok || !s.PowerOn || s.Cores != 4 {
		t.Errorf("www2.staging = %+v, %v; want it moved, on, with 4 cores", s, ok)
	}

	writes := h.Writes()
	for _, tt := range []struct{ in, want string }{
		{"create new2 image nosuchos", "Bytemark has no image `nosuchos`"},
		{"create web1", "There is already a server called `web1"},
		{"rename web1 db1", "There is already a server called `db1` in group `default.acme`"},
		{"move web1 nosuchgroup", "There is no group `nosuchgroup`"},
	} {
		h.MustSlash(bottest.UserAsker, bottest.ChanOps, tt.in)
		if tt.in == "images" { // a read: its answer is the asker's alone
			h.waitAnswer(tt.want)
			continue
		}
		h.WaitPost(tt.want)
	}
	for _, in := range []string{"resize web1 cores 0", "resize web1 memory 0", "create new3 cores 0"} {
		if body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, in); body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "Usage:") {
			t.Errorf("%q answered %q; want a usage message", in, body.Text)
		}
	}
	// A reimage asks for approval first; its bad image is refused when it
	// runs, after approval, before anything is written.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "reimage web1 nosuchos")
	b := h.WaitCard(1)
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("approve click = %d", code)
	}
	h.WaitPost("`reimage web1.default.acme nosuchos` failed", "Bytemark has no image `nosuchos`")
	if got := h.Writes(); got != writes {
		var w []string
		for _, r := range h.Fake.Requests() {
			if r.Method != http.MethodGet {
				w = append(w, r.Method+" "+r.Path)
			}
		}
		t.Errorf("bad input made %d writes: %q", got-writes, w)
	}
}

// TestImagesIsARead: `images` only reads, so asking twice runs twice (a
// change asked again at once is held back as a repeat).
func TestImagesIsARead(t *testing.T) {
	h := newHarness(t)
	for range 2 {
		if body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "images"); strings.Contains(body.Text, "a moment ago") {
			t.Fatalf("images asked again = %q; want it run", body.Text)
		}
	}
	h.WaitFor("two lists of images", func() bool { return len(h.Slack.Find("response_url", "7 images")) == 2 })
}
