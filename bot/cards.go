package bot

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/commands"
)

// Action IDs of the buttons on approval cards. Their value is the ticket ID;
// the block ID binds them to the channel the card was posted in.
const (
	actionApprove = "approve"
	actionDeny    = "deny"
	// blockPrefix + channel ID is the block ID of a card's buttons.
	blockPrefix = "approval:"
)

// Meta keys the bot keeps in tickets and jobs.
const (
	metaPower  = "power"  // "on" or "off" when the card was made
	metaPhase  = "phase"  // "ask": prepare an approval card rather than run
	metaReq    = "req"    // the request ID that started it
	metaReason = "reason" // why (e.g. the alert behind a webhook request)
	phaseAsk   = "ask"
)

// card renders an approval ticket. note, when not empty, is the latest
// outcome (e.g. the result of running it).
func card(t approvals.Ticket, now time.Time, note string) Message {
	snap, _ := parseSnapshot(t.Snapshot)
	name := snap.Hostname
	if name == "" {
		name = snap.Server
	}
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
	blocks = append(blocks, slack.NewHeaderBlock(plain(truncate(title, 150))))

	power := t.Meta[metaPower]
	if power == "" {
		power = "unknown"
	}
	if snap.Deleted {
		power += " (deleted)"
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Server*\n" + code(name)),
		mrkdwn("*Power*\n" + power),
		mrkdwn("*Requested by*\n" + mention(t.RequestedBy)),
		mrkdwn(fmt.Sprintf("*Approvals*\n%d of %d", len(t.Approvers), t.Required)),
	}
	if t.State == approvals.StatePending {
		fields = append(fields, mrkdwn("*Expires*\n"+slackTime(t.ExpiresAt, now)))
	}
	if r := t.Meta[metaReason]; r != "" {
		fields = append(fields, mrkdwn("*Why*\n"+truncate(r, 500)))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	// A section's text is at most 3000 characters (else Slack refuses the
	// whole card with invalid_blocks); a server may have many addresses.
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(destroys(snap), 3000)), nil, nil))

	var status []string
	switch t.State {
	case approvals.StatePending:
		if len(t.Approvers) > 0 {
			status = append(status, "Approved so far by "+mentions(t.Approvers)+".")
		}
	case approvals.StateApproved:
		status = append(status, ":white_check_mark: Approved by "+mentions(t.Approvers)+".")
	case approvals.StateDenied:
		status = append(status, ":no_entry: Denied by "+mention(t.DeniedBy)+". Nothing was done.")
	case approvals.StateExpired:
		status = append(status, fmt.Sprintf(":hourglass: Expired %s without enough approvals. Nothing was done.", slackTime(t.ExpiresAt, now)))
	case approvals.StateCancelled:
		status = append(status, ":wastebasket: Cancelled by "+mention(t.RequestedBy)+". Nothing was done.")
	}
	if note != "" {
		status = append(status, note)
	}
	if len(status) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(strings.Join(status, "\n")), nil, nil))
	}
	if t.State == approvals.StatePending {
		approve := slack.NewButtonBlockElement(actionApprove, t.ID, plain("Approve")).
			WithStyle(slack.StylePrimary).
			WithConfirm(slack.NewConfirmationBlockObject(
				plain(truncate("Approve "+t.Command+"?", 100)),
				mrkdwn(truncate("This lets the bot run *"+esc(t.Command)+"* on "+code(name)+". It cannot be undone.", 300)),
				plain("Approve"), plain("Cancel")).WithStyle(slack.StyleDanger))
		deny := slack.NewButtonBlockElement(actionDeny, t.ID, plain("Deny")).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock(blockPrefix+t.Channel, approve, deny))
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("Ticket `%s` · `/bytemark cancel %s` to withdraw it", t.ID, t.ID))))
	text := fmt.Sprintf("%s (requested by %s, ticket %s)", esc(title), mention(t.RequestedBy), t.ID)
	return Message{Text: text, Blocks: blocks}
}

// destroys lists what the action would destroy.
func destroys(snap snapshot) string {
	var b strings.Builder
	b.WriteString("*What it affects*\n")
	if len(snap.Discs) == 0 {
		b.WriteString("• no discs\n")
	}
	for _, d := range snap.Discs {
		fmt.Fprintf(&b, "• disc %s: %s, %s\n", code(d.Label), mib(d.Size), esc(d.Grade))
	}
	if len(snap.IPs) > 0 {
		fmt.Fprintf(&b, "• IP addresses: %s\n", code(strings.Join(snap.IPs, ", ")))
	}
	if snap.Cores > 0 {
		fmt.Fprintf(&b, "• %s, %s memory\n", plural(snap.Cores, "core"), mib(snap.Memory))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// mention formats a user ID so that Slack shows the user's name.
func mention(user string) string {
	if user == "" {
		return "someone"
	}
	if slackUserID.MatchString(user) {
		return "<@" + user + ">"
	}
	return esc(user) // e.g. "alertmanager"
}

// slackUserID is what a Slack user ID looks like; anything else in a
// mention is shown escaped, as text.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

func mentions(users []string) string {
	var ms []string
	for _, u := range users {
		ms = append(ms, mention(u))
	}
	return strings.Join(ms, ", ")
}

// code quotes s as inline code, without letting it break out
// (commands.Code).
func code(s string) string { return commands.Code(s) }

// esc makes text from outside the bot (alerts, the Bytemark API) harmless
// in Slack mrkdwn: it can't mention anyone (<!channel>, <@U…>) or link.
// It is commands.Escape, the one escaper of every such text.
func esc(s string) string { return commands.Escape(s) }

// slackTime shows t in each reader's own time zone, with a UTC fallback.
func slackTime(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	rel := t.Sub(now).Round(time.Second)
	fallback := t.UTC().Format("2006-01-02 15:04 UTC")
	s := fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), fallback)
	if rel > 0 {
		s += " (in " + rel.String() + ")"
	}
	return s
}

// plural formats n things: "1 core", "2 cores".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// truncate shortens s to at most n runes.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// text is a plain message with one mrkdwn section.
func text(s string) Message {
	s = truncate(s, 3000)
	return Message{Text: s, Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(s), nil, nil)}}
}
