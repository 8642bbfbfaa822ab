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
	Gone    bool // purged: nothing is left of it
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
	return CardWith(t, subject, reason, now, News{Note: note})
}

// News is what is known about a ticket beyond its state: the latest note
// about it and, once its action has run, how that ended.
type News struct {
	Note    string
	Outcome Outcome
}

// An Outcome is how an approved ticket's action ended.
type Outcome string

// Outcomes of an approved ticket's action; "" while it hasn't ended.
const (
	OutcomeDone    Outcome = "done"
	OutcomeFailed  Outcome = "failed"
	OutcomeRefused Outcome = "refused" // not run: the server changed, is protected, …
)

// finished reports whether nothing more will happen to t: the card keeps
// no buttons and no way to withdraw it, and says the outcome first.
func finished(t approvals.Ticket, news News) bool {
	return t.State != approvals.StatePending && (t.State != approvals.StateApproved || news.Outcome != "")
}

// CardWith renders an approval ticket about subject (the server as it is
// now), asked for because of reason (may be empty), with news.
func CardWith(t approvals.Ticket, subject Subject, reason string, now time.Time, news News) Message {
	title := cardTitle(t, news)
	blocks := []slack.Block{slack.NewHeaderBlock(Plain(Truncate(title, 150)))}
	status := cardStatus(t, news, now)
	done := finished(t, news)
	if done && status != nil {
		blocks = append(blocks, status) // the outcome first
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, cardFields(t, subject, reason, now), nil))
	// A section's text is at most 3000 characters (else Slack refuses the
	// whole card with invalid_blocks); a server may have many addresses.
	if subject.InUse && t.State == approvals.StatePending {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(fmt.Sprintf(
			":warning: *%s is running and was never deleted: it is in use now.*", commands.Code(subject.Name))), nil, nil))
	}
	heading := "*What it affects*\n"
	if news.Outcome == OutcomeDone {
		heading = "*What it affected*\n"
	}
	if len(subject.Servers) > 0 || subject.Creates {
		heading = "" // their lists say what they are
	}
	blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(Truncate(heading+destroys(subject), 3000)), nil, nil))
	if !done && status != nil {
		blocks = append(blocks, status)
	}
	if t.State == approvals.StatePending {
		blocks = append(blocks, cardButtons(t, subject))
	}
	footer := fmt.Sprintf("Ticket `%s`", t.ID)
	if t.State == approvals.StatePending {
		footer += fmt.Sprintf(" · `/bytemark cancel %s` to withdraw it", t.ID)
	}
	blocks = append(blocks, slack.NewContextBlock("", Mrkdwn(footer)))
	text := fmt.Sprintf("%s (requested by %s, ticket %s)", commands.Escape(title), Mention(t.RequestedBy), t.ID)
	return Message{Text: text, Blocks: blocks}
}

// cardTitle is a card's header: what happened to the request, then what
// it asks.
func cardTitle(t approvals.Ticket, news News) string {
	switch t.State {
	case approvals.StateApproved:
		switch news.Outcome {
		case OutcomeDone:
			return "Done: " + t.Command
		case OutcomeFailed:
			return "Failed: " + t.Command
		case OutcomeRefused:
			return "Not run: " + t.Command
		}
		return "Approved: " + t.Command
	case approvals.StateDenied:
		return "Denied: " + t.Command
	case approvals.StateExpired:
		return "Expired: " + t.Command
	case approvals.StateCancelled:
		return "Cancelled: " + t.Command
	}
	return "Approval needed: " + t.Command
}

// cardFields are the facts of a card: the server as it is now, who asked,
// the votes.
func cardFields(t approvals.Ticket, snap Subject, reason string, now time.Time) []*slack.TextBlockObject {
	power := snap.Power
	if power == "" {
		power = "unknown"
	}
	switch {
	case snap.Gone:
		power = "none: purged"
	case snap.Deleted:
		power += " (deleted)"
	}
	fields := []*slack.TextBlockObject{
		Mrkdwn("*Server*\n" + commands.Code(snap.Name)),
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
	return fields
}

// cardStatus is the section that says where the request stands (nil when
// there is nothing to say yet).
func cardStatus(t approvals.Ticket, news News, now time.Time) slack.Block {
	var status []string
	if news.Note != "" && finished(t, news) {
		status = append(status, news.Note)
	}
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
	if news.Note != "" && !finished(t, news) {
		status = append(status, news.Note)
	}
	if len(status) == 0 {
		return nil
	}
	return slack.NewSectionBlock(Mrkdwn(strings.Join(status, "\n")), nil, nil)
}

// cardButtons are a pending card's Approve and Deny buttons. Approve asks
// to confirm, saying what will happen and whether it can be undone
// (commands.Consequence).
func cardButtons(t approvals.Ticket, snap Subject) slack.Block {
	what := "This lets the bot run *" + commands.Escape(t.Command) + "* on " + commands.Code(snap.Name) + "."
	if a, err := commands.Parse(t.Command); err == nil {
		what = commands.Consequence(a)
	}
	approve := slack.NewButtonBlockElement(ActionApprove, t.ID, Plain("Approve")).
		WithStyle(slack.StylePrimary).
		WithConfirm(slack.NewConfirmationBlockObject(
			Plain(Truncate("Approve "+t.Command+"?", 100)),
			Mrkdwn(Truncate(what, 300)),
			Plain("Approve"), Plain("Cancel")).WithStyle(slack.StyleDanger))
	if TypeTheName(t.Command) {
		approve.Confirm = nil // the type-the-name modal asks instead (modal.go)
	}
	deny := slack.NewButtonBlockElement(ActionDeny, t.ID, Plain("Deny")).WithStyle(slack.StyleDanger)
	return slack.NewActionBlock(BlockPrefix+t.Channel, approve, deny)
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
