package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// cardUpdates returns the chat.update calls on card c, oldest first.
func (h *harness) cardUpdates(c slacktest.Card) []slacktest.Call {
	var out []slacktest.Call
	for _, u := range h.slack.Calls("chat.update") {
		if u.Form.Get("ts") == c.TS {
			out = append(out, u)
		}
	}
	return out
}

// TestApprovalUpdatesCardTwice (issue 20): an approved purge that runs at
// once and ends quickly updates its card twice, the vote and the result,
// without a ":gear: Running…" in between; one that takes a while still
// says it is running.
func TestApprovalUpdatesCardTwice(t *testing.T) {
	h := newHarness(t)
	h.mustSlash(userAsker, chanOps, "purge web1")
	c := h.waitCard(1)
	h.click(userAppr1, chanOps, c, slackui.ActionApprove)
	h.waitFor("the result on the card", func() bool {
		us := h.cardUpdates(c)
		return len(us) > 0 && us[len(us)-1].Has(":white_check_mark:")
	})
	// A marker: a later purge's card is finished too, so nothing more is
	// coming for the first.
	h.mustSlash(userAsker, chanOps, "purge web2")
	c2 := h.waitCard(2)
	h.click(userAppr1, chanOps, c2, slackui.ActionApprove)
	h.waitFor("the second result on its card", func() bool {
		us := h.cardUpdates(c2)
		return len(us) > 0 && us[len(us)-1].Has(":white_check_mark:")
	})
	us := h.cardUpdates(c)
	for _, u := range us {
		if u.Has("Running") {
			t.Errorf("a quick job's card said %q", slacktest.Truncate(u.Text(), 80))
		}
	}
	if len(us) != 2 {
		t.Errorf("the card was updated %d times; want 2 (the vote, the result)", len(us))
	}

	// A slow one: the Bytemark API takes longer than the card waits.
	h.mustSlash(userAsker, chanOps, "purge db1")
	c3 := h.waitCard(3)
	h.fake.SetLatency(time.Second)
	h.click(userAppr1, chanOps, c3, slackui.ActionApprove)
	h.waitFor("Running… on the slow job's card", func() bool {
		for _, u := range h.cardUpdates(c3) {
			if u.Has(":gear: Running") {
				return true
			}
		}
		return false
	})
	h.fake.SetLatency(0)
	h.waitFor("the slow job's result on its card", func() bool {
		us := h.cardUpdates(c3)
		return len(us) > 0 && strings.Contains(us[len(us)-1].Content(), ":white_check_mark:")
	})
}
