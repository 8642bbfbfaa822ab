package slackui

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/commands"
)

// Action IDs of the buttons that take a soft delete back: Undo on a staged
// purge's card (value: the ticket ID) and Undelete on a delete's result
// (value: the undelete's ID). UndoPrefix + channel ID is their block ID.
const (
	ActionUndo     = "undo"
	ActionUndelete = "undelete"
	UndoPrefix     = "undo:"
)

// KeepsDeleted says how long Bytemark keeps a deleted server: its API
// documents only that it can be undeleted "for a certain amount of time
// after deletion", so no number is given.
const KeepsDeleted = "Bytemark keeps a deleted server for a while (its API doesn't say how long), then it is gone for good."

// StagedCard renders an approved purge whose purge is staged (PURGE_GRACE):
// a countdown with an Undo button while it waits, then how it ended.
// note, when not empty, is the latest news about it.
func StagedCard(t approvals.Ticket, subject Subject, now time.Time, note string) Message {
	p := t.Purge
	name := commands.Code(subject.Name)
	var title, status string
	switch p.State {
	case approvals.PurgeStaged:
		title = "Purge scheduled: " + t.Command
		status = fmt.Sprintf(":hourglass_flowing_sand: %s is deleted (down, and it can still be undeleted) and *will be purged at %s*. "+
			"%s or any approver can press *Undo* until then to undelete it and call the purge off.",
			name, Time(p.At, now), Mention(t.RequestedBy))
	case approvals.PurgePurging:
		title = "Purging: " + t.Command
		status = ":gear: The grace ended; purging…"
	case approvals.PurgePurged:
		title = "Purged: " + t.Command
		status = fmt.Sprintf(":white_check_mark: Purged at %s: the server and its discs are gone for good.", Time(p.EndedAt, now))
	case approvals.PurgeUndone:
		title = "Undone: " + t.Command
		status = fmt.Sprintf(":leftwards_arrow_with_hook: Undone by %s at %s: the purge is called off.", Mention(p.By), Time(p.EndedAt, now))
	default: // kept
		title = "Not purged: " + t.Command
		status = ":warning: Not purged"
		if p.Note != "" {
			status += ": " + p.Note
		} else {
			status += "."
		}
	}
	if p.State == approvals.PurgeUndone && p.Note != "" {
		status += "\n" + p.Note
	}
	if note != "" && p.State != approvals.PurgeStaged {
		status += "\n" + note
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(Plain(Truncate(title, 150))),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			Mrkdwn("*Server*\n" + name),
			Mrkdwn("*Requested by*\n" + Mention(t.RequestedBy)),
			Mrkdwn("*Approved by*\n" + Mentions(t.Approvers)),
		}, nil),
		slack.NewSectionBlock(Mrkdwn(Truncate(destroys(subject), 3000)), nil, nil),
		slack.NewSectionBlock(Mrkdwn(Truncate(status, 3000)), nil, nil),
	}
	if p.State == approvals.PurgeStaged {
		undo := slack.NewButtonBlockElement(ActionUndo, t.ID, Plain("Undo")).WithStyle(slack.StylePrimary)
		blocks = append(blocks, slack.NewActionBlock(UndoPrefix+t.Channel, undo))
	}
	blocks = append(blocks, slack.NewContextBlock("", Mrkdwn(fmt.Sprintf("Ticket `%s`", t.ID))))
	text := fmt.Sprintf("%s (requested by %s, ticket %s)", commands.Escape(title), Mention(t.RequestedBy), t.ID)
	if p.State == approvals.PurgeStaged {
		text = fmt.Sprintf("%s: %s will be purged at %s unless someone presses Undo (ticket %s)",
			commands.Escape(title), name, p.At.UTC().Format("15:04 UTC"), t.ID)
	}
	return Message{Text: text, Blocks: blocks}
}

// WithUndelete adds to m, the result of a soft delete, an Undelete button
// (the undelete id, bound to channel) and what it does.
func WithUndelete(m Message, id, channel, server string) Message {
	blocks := append([]slack.Block{}, m.Blocks...)
	blocks = append(blocks,
		slack.NewActionBlock(UndoPrefix+channel,
			slack.NewButtonBlockElement(ActionUndelete, id, Plain("Undelete")).WithStyle(slack.StylePrimary)),
		slack.NewContextBlock("", Mrkdwn(fmt.Sprintf("The requester and the approvers can press *Undelete*, or anyone allowed can type `/bytemark undelete %s`. %s",
			commands.Escape(server), KeepsDeleted))))
	return Message{Text: m.Text, Blocks: blocks}
}

// UndeleteResult renders a soft delete's result once someone pressed its
// Undelete button; note says how the undelete went.
func UndeleteResult(u approvals.Undelete, now time.Time, note string) Message {
	head := fmt.Sprintf(":white_check_mark: %s deleted (for %s)", commands.Code(u.Server), Mention(u.RequestedBy))
	if len(u.Approvers) > 0 {
		head = strings.TrimSuffix(head, ")") + ", approved by " + Mentions(u.Approvers) + ")"
	}
	status := fmt.Sprintf(":leftwards_arrow_with_hook: Undelete pressed by %s at %s.", Mention(u.By), Time(u.EndedAt, now))
	if note != "" {
		status += " " + note
	}
	return Message{Text: Truncate(head+"\n"+status, 3000), Blocks: []slack.Block{
		slack.NewSectionBlock(Mrkdwn(Truncate(head, 3000)), nil, nil),
		slack.NewSectionBlock(Mrkdwn(Truncate(status, 3000)), nil, nil),
	}}
}
