package slackui

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/commands"
)

// Action IDs of the buttons on approval cards. Their value is the ticket ID;
// the block ID binds them to the channel the card was posted in.
const (
	ActionApprove = "approve"
	ActionDeny    = "deny"
	// BlockPrefix + channel ID is the block ID of a card's buttons.
	BlockPrefix = "approval:"
)

// Subject is what an approval card shows of the server an action would
// change, as it was when the card was made.
type Subject struct {
	Name    string // the hostname, or the name the action used
	Power   string // "on" or "off"; "" is unknown
	Deleted bool
	Cores   int
	Memory  int // MiB
	Discs   []Disc
	IPs     []string
	// Creates is set for a server to be created: the rest is what it
	// will have, and Image what it will run ("" for none).
	Creates bool
	Image   string
	// InUse: the action purges the server, which is running and was never
	// deleted (the card says so in bold).
	InUse bool
	// Servers, when set, are the canonical names of the servers of an
	// action on many servers (targets.go), and Skipped those it matched
	// but leaves out (deleted); the card lists them.
	Servers, Skipped []string
}

// Disc is a disc on a card.
type Disc struct {
	Label string
	Size  int // MiB
	Grade string
}

// Card renders an approval ticket about subject, asked for because of
// reason (may be empty). note, when not empty, is the latest outcome
// (e.g. the result of running it).
func Card(t approvals.Ticket, subject Subject, reason string, now time.Time, note string) Message {
	snap := subject
	name := snap.Name
	var blocks []slack.Block
	title := fmt.Sprintf("Approval needed: %s", t.Command)
	switch t.State {
	case approvals.StateApproved:
		title = "Approved: " + t.Command
	case approvals.StateDenied:
		title = "Denied: " + t.Command
	case approvals.StateExpired:
		title = "Expired: " + t.Command
	case approvals.StateCancelled:
		title = "Cancelled: " + t.Command
	}
	blocks = append(blocks, slack.NewHeaderBlock(Plain(Truncate(title, 150))))

	power := snap.Power
	if power == "" {
		power = "unknown"
	}
	if snap.Deleted {
		power += " (deleted)"
	}
	fields := []*slack.TextBlockObject{
		Mrkdwn("*Server*\n" + commands.Code(name)),
		Mrkdwn("*Power*\n" + power),
		Mrkdwn("*Requested by*\n" + Mention(t.RequestedBy)),
		Mrkdwn(fmt.Sprintf("*Approvals*\n%d of %d", len(t.Approvers), t.Required)),
	}
	if t.State == approvals.StatePending {
		fields = append(fields, Mrkdwn("*Expires*\n"+Time(t.ExpiresAt, now)))
	}
	if r := reason; r != "" {
		fields = append(fields, Mrkdwn("*Why*\n"+Truncate(r, 500)))
	}
	if t.Rule != "" { // which rule asked for approval, and who may give it
		fields = append(fields, Mrkdwn("*Rule*\n"+Truncate(t.Rule, 500)))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	if snap.InUse && t.State == approvals.StatePending {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(fmt.Sprintf(
			":warning: *%s is running and was never deleted: it is in use now.*", commands.Code(name))), nil, nil))
	}
	// A section's text is at most 3000 characters (else Slack refuses the
	// whole card with invalid_blocks); a server may have many addresses.
	blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(Truncate(destroys(snap), 3000)), nil, nil))

	var status []string
	switch t.State {
	case approvals.StatePending:
		if len(t.Approvers) > 0 {
			status = append(status, "Approved so far by "+Mentions(t.Approvers)+".")
		}
	case approvals.StateApproved:
		status = append(status, ":white_check_mark: Approved by "+Mentions(t.Approvers)+".")
	case approvals.StateDenied:
		status = append(status, ":no_entry: Denied by "+Mention(t.DeniedBy)+". Nothing was done.")
	case approvals.StateExpired:
		status = append(status, fmt.Sprintf(":hourglass: Expired %s without enough approvals. Nothing was done.", Time(t.ExpiresAt, now)))
	case approvals.StateCancelled:
		status = append(status, ":wastebasket: Cancelled by "+Mention(t.RequestedBy)+". Nothing was done.")
	}
	if note != "" {
		status = append(status, note)
	}
	if len(status) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(strings.Join(status, "\n")), nil, nil))
	}
	if t.State == approvals.StatePending {
		approve := slack.NewButtonBlockElement(ActionApprove, t.ID, Plain("Approve")).
			WithStyle(slack.StylePrimary).
			WithConfirm(slack.NewConfirmationBlockObject(
				Plain(Truncate("Approve "+t.Command+"?", 100)),
				Mrkdwn(Truncate("This lets the bot run *"+commands.Escape(t.Command)+"* on "+commands.Code(name)+". It cannot be undone.", 300)),
				Plain("Approve"), Plain("Cancel")).WithStyle(slack.StyleDanger))
		if TypeTheName(t.Command) {
			approve.Confirm = nil // the type-the-name modal asks instead (modal.go)
		}
		deny := slack.NewButtonBlockElement(ActionDeny, t.ID, Plain("Deny")).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock(BlockPrefix+t.Channel, approve, deny))
	}
	blocks = append(blocks, slack.NewContextBlock("", Mrkdwn(fmt.Sprintf("Ticket `%s` · `/bytemark cancel %s` to withdraw it", t.ID, t.ID))))
	text := fmt.Sprintf("%s (requested by %s, ticket %s)", commands.Escape(title), Mention(t.RequestedBy), t.ID)
	return Message{Text: text, Blocks: blocks}
}

// destroys lists what the action would destroy (or, for a server to be
// created, what it creates).
func destroys(snap Subject) string {
	if len(snap.Servers) > 0 {
		return targetList(snap)
	}
	if snap.Creates {
		return creates(snap)
	}
	var b strings.Builder
	b.WriteString("*What it affects*\n")
	if len(snap.Discs) == 0 {
		b.WriteString("• no discs\n")
	}
	for _, d := range snap.Discs {
		fmt.Fprintf(&b, "• disc %s: %s, %s\n", commands.Code(d.Label), commands.HumanSize(d.Size), commands.Escape(d.Grade))
	}
	if len(snap.IPs) > 0 {
		fmt.Fprintf(&b, "• IP addresses: %s\n", commands.Code(strings.Join(snap.IPs, ", ")))
	}
	if snap.Cores > 0 {
		fmt.Fprintf(&b, "• %s, %s memory\n", Plural(snap.Cores, "core"), commands.HumanSize(snap.Memory))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
