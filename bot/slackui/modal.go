package slackui

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/commands"
)

// IDs of the type-the-name modal: approving an irreversible action (a
// purge, a disc purge, a reimage) opens it, and the vote counts only when
// the name typed in its input is the server's.
const (
	// CallbackConfirm is the modal's callback_id: a view_submission with
	// it is a name-checked vote.
	CallbackConfirm = "approve_by_name"
	// BlockConfirmName is the block ID of the modal's input, which
	// response_action errors name.
	BlockConfirmName = "confirm_name"
	// ActionConfirmName is the action ID of the input's text element.
	ActionConfirmName = "server_name"
)

// TypeTheName reports whether approving command takes the server's name
// typed: the command can't be undone (a purge, a disc purge, a reimage),
// or can't be read (and is treated as such).
func TypeTheName(command string) bool {
	a, err := commands.Parse(command)
	return err != nil || a.Destructive()
}

// A Confirm is what an approver is asked before their approval of an
// irreversible action counts: the action, the server as the approvers saw
// it, and the names of that server they may type.
type Confirm struct {
	// TicketID and Channel are the ticket and the channel its card is in
	// (the modal's private_metadata carries them back).
	TicketID, Channel string
	Command           string
	Subject           Subject
	// Short and Canonical are the server's names (web1, web1.default.acme):
	// either, typed, confirms.
	Short, Canonical string
	RequestedBy      string
	// Approvals so far, of Required.
	Approvals, Required int
}

// ConfirmMetadata is the modal's private_metadata: the ticket and the
// channel of its card.
func ConfirmMetadata(ticket, channel string) string { return ticket + " " + channel }

// ParseConfirmMetadata reads ConfirmMetadata back.
func ParseConfirmMetadata(s string) (ticket, channel string, ok bool) {
	ticket, channel, ok = strings.Cut(s, " ")
	return ticket, channel, ok && ticket != "" && channel != ""
}

// ConfirmModal is the modal that asks an approver of c to type the
// server's name: it shows what will be destroyed.
func ConfirmModal(c Confirm) slack.ModalViewRequest {
	intro := fmt.Sprintf(":warning: *%s* can't be undone. Approving it lets the bot run it on %s (asked by %s; %d of %d approvals so far).",
		commands.Escape(c.Command), commands.Code(c.Subject.Name), Mention(c.RequestedBy), c.Approvals, c.Required)
	if c.Subject.Power == "on" && !c.Subject.Deleted {
		intro += "\n*The server is running: it is in use now.*"
	}
	input := slack.NewInputBlock(BlockConfirmName,
		Plain("Type the server's name to approve"),
		Plain(Truncate("Its name: "+c.Short+" (or "+c.Canonical+"). Anything else counts nothing.", 150)),
		slack.NewPlainTextInputBlockElement(Plain("server name"), ActionConfirmName).WithMaxLength(255))
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackConfirm,
		PrivateMetadata: ConfirmMetadata(c.TicketID, c.Channel),
		Title:           Plain("Approve for good?"),
		Submit:          Plain("Approve"),
		Close:           Plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(Mrkdwn(Truncate(intro, 3000)), nil, nil),
			slack.NewSectionBlock(Mrkdwn(Truncate(destroys(c.Subject), 3000)), nil, nil),
			input,
		}},
	}
}

// ConfirmText is the modal as text, for a transport without modals (the
// console): what will be destroyed and the ask.
func ConfirmText(c Confirm) string {
	return fmt.Sprintf("*%s* can't be undone: approving it destroys what %s has.\n%s\nTo approve, type the server's name: %s (or %s). Anything else counts nothing.",
		commands.Escape(c.Command), commands.Code(c.Subject.Name), destroys(c.Subject), commands.Code(c.Short), commands.Code(c.Canonical))
}
