package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// cardUpdates returns the chat.update calls on card c, oldest first.
func (h *harness) cardUpdates(c slacktest.Card) []slacktest.Call {
	var out []slacktest.Call
	for _, u := range h.Slack.Calls("chat.update") {
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
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	c := h.WaitCard(1)
	h.Click(bottest.UserAppr1, bottest.ChanOps, c, slackui.ActionApprove)
	h.WaitFor("the result on the card", func() bool {
		us := h.cardUpdates(c)
		return len(us) > 0 && us[len(us)-1].Has(":white_check_mark:")
	})
	// A marker: a later purge's card is finished too, so nothing more is
	// coming for the first.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	c2 := h.WaitCard(2)
	h.Click(bottest.UserAppr1, bottest.ChanOps, c2, slackui.ActionApprove)
	h.WaitFor("the second result on its card", func() bool {
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
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge db1")
	c3 := h.WaitCard(3)
	h.Fake.SetLatency(time.Second)
	h.Click(bottest.UserAppr1, bottest.ChanOps, c3, slackui.ActionApprove)
	h.WaitFor("Running… on the slow job's card", func() bool {
		for _, u := range h.cardUpdates(c3) {
			if u.Has(":gear: Running") {
				return true
			}
		}
		return false
	})
	h.Fake.SetLatency(0)
	h.WaitFor("the slow job's result on its card", func() bool {
		us := h.cardUpdates(c3)
		return len(us) > 0 && strings.Contains(us[len(us)-1].Content(), ":white_check_mark:")
	})
}
