package bot

import (
	"slices"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
)

// news is what a card says beyond its ticket's state (slackui.News).
type news = slackui.News

// card renders an approval ticket from what it stores (the snapshot the
// approvers were shown, the power state and the reason) and n: once its
// action is done, the server is shown as the action left it.
func card(t approvals.Ticket, now time.Time, n news) slackui.Message {
	m := metaOf(t.Meta)
	if l, ok := parseFanList(t.Snapshot); ok { // many servers (fanout.go)
		return slackui.CardWith(t, manySubject(l, m.Power), m.Reason, now, n)
	}
	snap, _ := parseSnapshot(t.Snapshot)
	subject := snap.subject(m.Power)
	if t.Purge.State != "" {
		return slackui.StagedCard(t, subject, now, n.Note)
	}
	subject.InUse = inUse(t.Command, snap, m.Power)
	if n.Outcome == slackui.OutcomeDone {
		if a, err := commands.Parse(t.Command); err == nil {
			subject = after(subject, a)
		}
	}
	return slackui.CardWith(t, subject, m.Reason, now, n)
}

// after is subject as a leaves it (commands.FactOf): a purged server is
// gone, a stopped one off, a purged disc no longer listed.
func after(subject slackui.Subject, a commands.Action) slackui.Subject {
	f := commands.FactOf(a)
	if f.Power != "" {
		subject.Power = f.Power
	}
	switch f.State {
	case commands.StateDeleted:
		subject.Deleted = true
	case commands.StateLive:
		subject.Deleted = false
	case commands.StateGone:
		subject.Gone = true
	}
	if f.DiscGone {
		label := commands.DiscOf(a)
		subject.Discs = slices.DeleteFunc(slices.Clone(subject.Discs), func(d slackui.Disc) bool { return d.Label == label })
	}
	return subject
}
