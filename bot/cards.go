package bot

import (
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
)

// Meta keys the bot keeps in tickets and jobs.
const (
	metaPower  = "power"  // "on" or "off" when the card was made
	metaPhase  = "phase"  // "ask": prepare an approval card rather than run
	metaReq    = "req"    // the request ID that started it
	metaReason = "reason" // why (e.g. the alert behind a webhook request)
	phaseAsk   = "ask"
)

// card renders an approval ticket from what it stores: the snapshot the
// approvers were shown, the power state and the reason.
func card(t approvals.Ticket, now time.Time, note string) slackui.Message {
	snap, _ := parseSnapshot(t.Snapshot)
	return slackui.Card(t, snap.subject(t.Meta[metaPower]), t.Meta[metaReason], now, note)
}
