package slacktest

import (
	"fmt"
	"testing"
)

// ButtonOf returns what pressing the button actionID of the message c
// posted or updated (chat.postMessage, chat.update) needs, as a Card: the
// button's value (Ticket) and block, the message's channel and ts. The
// approval cards' Approve is ButtonOf(c, "approve"); other buttons (Undo,
// Undelete) are found the same way.
func ButtonOf(c Call, actionID string) (Card, bool) {
	for _, b := range c.Buttons() {
		if b.ActionID != actionID {
			continue
		}
		ts := c.TS
		if ts == "" {
			ts = c.Form.Get("ts") // chat.update names the message it updates
		}
		card := Card{Ticket: b.Value, BlockID: b.BlockID, Channel: c.Channel(), TS: ts,
			Text: c.Form.Get("text"), Blocks: c.Form.Get("blocks")}
		return card, true
	}
	return Card{}, false
}

// WaitButton waits for a message posted or updated with the button
// actionID whose content has every substring, and returns the latest such.
func (a *API) WaitButton(t testing.TB, actionID string, substrings ...string) Card {
	t.Helper()
	var card Card
	a.Wait(t, fmt.Sprintf("a message with button %q and %q", actionID, substrings), func() bool {
		found := false
		for _, c := range a.Calls("") {
			if (c.Method != "chat.postMessage" && c.Method != "chat.update") || !c.OK() || !c.Has(substrings...) {
				continue
			}
			if b, ok := ButtonOf(c, actionID); ok {
				card, found = b, true
			}
		}
		return found
	})
	return card
}
