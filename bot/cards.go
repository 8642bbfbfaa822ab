package bot

import (
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
)

// card renders an approval ticket from what it stores: the snapshot the
// approvers were shown, the power state and the reason.
func card(t approvals.Ticket, now time.Time, note string) slackui.Message {
	m := metaOf(t.Meta)
	if l, ok := parseFanList(t.Snapshot); ok { // many servers (fanout.go)
		return slackui.Card(t, manySubject(l, m.Power), m.Reason, now, note)
	}
	snap, _ := parseSnapshot(t.Snapshot)
	sub := snap.subject(m.Power)
	if t.Purge.State != "" {
		return slackui.StagedCard(t, sub, now, note)
	}
	sub.InUse = inUse(t.Command, snap, m.Power)
	return slackui.Card(t, sub, m.Reason, now, note)
}
