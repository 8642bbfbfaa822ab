package slackui

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/commands"
)

// Targets of many servers (`restart group:staging`, `reboot web*`): the
// list an approval card shows (Subject.Servers), and the one message that
// reports each server's run and is updated as they finish (Lines).

// targetList is what a card about many servers says they are: every one of
// them, as the approvers are asked to agree to it.
func targetList(snap Subject) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*Servers (%d)*\n", len(snap.Servers))
	for _, s := range snap.Servers {
		fmt.Fprintf(&b, "• %s\n", commands.Code(s))
	}
	for _, s := range snap.Skipped {
		fmt.Fprintf(&b, "• ~%s~ %s\n", commands.Code(s), "skipped")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Lines renders head and then lines, one a line, as a message: as many
// sections as the lines need (a section's text is at most 3000
// characters), the head being the notification text too.
func Lines(head string, lines []string) Message {
	blocks := []slack.Block{slack.NewSectionBlock(Mrkdwn(Truncate(head, 3000)), nil, nil)}
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(strings.TrimSuffix(b.String(), "\n")), nil, nil))
			b.Reset()
		}
	}
	for _, l := range lines {
		l = Truncate(l, 600)
		if b.Len()+len(l)+1 > 3000 {
			flush()
		}
		if len(blocks) == 49 { // Slack takes at most 50 blocks
			b.WriteString("…")
			break
		}
		b.WriteString(l + "\n")
	}
	flush()
	return Message{Text: Truncate(head, 3000), Blocks: blocks}
}
