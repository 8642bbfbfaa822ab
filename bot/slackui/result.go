package slackui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// MaxListed bounds how many things (servers, discs, tickets) one message lists.
const MaxListed = 40

// Result renders the result of running a for user, approved by
// approvers if it needed approval.
func Result(a commands.Action, res commands.Result, user string, approvers []string) Message {
	var b strings.Builder
	summary := res.Summary
	if summary == "" {
		summary = "Done: " + a.String()
	}
	icon := ":white_check_mark:"
	if res.NoOp {
		icon = ":information_source:" // nothing was done, and nothing went wrong
	}
	fmt.Fprintf(&b, "%s %s", icon, summary)
	if user != "" {
		fmt.Fprintf(&b, " (for %s", Mention(user))
		if len(approvers) > 0 {
			fmt.Fprintf(&b, ", approved by %s", Mentions(approvers))
		}
		b.WriteString(")")
	}
	head := b.String()
	blocks := []slack.Block{slack.NewSectionBlock(Mrkdwn(Truncate(head, 3000)), nil, nil)}

	var fields []*slack.TextBlockObject
	if res.Server != nil {
		fields = append(fields, serverFields(*res.Server)...)
	}
	for _, f := range res.Fields {
		fields = append(fields, Mrkdwn(Truncate("*"+f.Label+"*\n"+f.Value, 2000)))
	}
	for len(fields) > 0 { // a section holds at most 10 fields
		n := min(len(fields), 10)
		blocks = append(blocks, slack.NewSectionBlock(nil, fields[:n], nil))
		fields = fields[n:]
	}
	if len(res.Servers) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(Truncate(serverList(res.Servers), 3000)), nil, nil))
	}
	if len(res.Discs) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(Truncate(discTable(res.Discs), 3000)), nil, nil))
	}
	return Message{Text: Truncate(head, 3000), Blocks: blocks}
}

func serverFields(s bytemark.Server) []*slack.TextBlockObject {
	name := s.Hostname
	if name == "" {
		name = s.Name
	}
	power := "off"
	if s.PowerOn {
		power = "on"
	}
	if s.Deleted {
		power += " (deleted)"
	}
	var ips []string
	for _, nic := range s.NetworkInterfaces {
		ips = append(ips, nic.IPs...)
	}
	fs := []*slack.TextBlockObject{
		Mrkdwn("*Server*\n" + commands.Code(name)),
		Mrkdwn("*Power*\n" + power),
		Mrkdwn(fmt.Sprintf("*Size*\n%s, %s", Plural(s.Cores, "core"), commands.HumanSize(s.Memory))),
	}
	if s.ZoneName != "" {
		fs = append(fs, Mrkdwn("*Zone*\n"+commands.Escape(s.ZoneName)))
	}
	if len(ips) > 0 {
		fs = append(fs, Mrkdwn("*IP addresses*\n"+commands.Escape(Truncate(strings.Join(ips, ", "), 1000))))
	}
	if len(s.Discs) > 0 {
		var ds []string
		for _, d := range s.Discs {
			ds = append(ds, fmt.Sprintf("%s %s %s", commands.Escape(d.Label), commands.HumanSize(d.Size), commands.Escape(d.StorageGrade)))
		}
		fs = append(fs, Mrkdwn("*Discs*\n"+Truncate(strings.Join(ds, "\n"), 1000)))
	}
	return fs
}

func serverList(ss []bytemark.Server) string {
	var b strings.Builder
	for i, s := range ss {
		if i == MaxListed {
			fmt.Fprintf(&b, "…and %d more", len(ss)-MaxListed)
			break
		}
		power := ":red_circle: off"
		if s.PowerOn {
			power = ":large_green_circle: on"
		}
		name := s.Hostname
		if name == "" {
			name = s.Name
		}
		if s.Deleted {
			// Still recoverable until it is purged: say how.
			fmt.Fprintf(&b, ":wastebasket: deleted %s · `/bytemark undelete %s` brings it back\n", commands.Code(name), commands.Escape(canonical(name)))
			continue
		}
		fmt.Fprintf(&b, "%s %s · %s, %s\n", power, commands.Code(name), Plural(s.Cores, "core"), commands.HumanSize(s.Memory))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// canonical is name.group.account of a hostname (or the name itself).
func canonical(host string) string {
	if parts := strings.SplitN(host, ".", 4); len(parts) >= 3 {
		return strings.Join(parts[:3], ".")
	}
	return host
}

func discTable(ds []bytemark.Disc) string {
	var b strings.Builder
	for i, d := range ds {
		if i == MaxListed {
			fmt.Fprintf(&b, "…and %d more", len(ds)-MaxListed)
			break
		}
		fmt.Fprintf(&b, "• %s: %s, %s\n", commands.Code(d.Label), commands.HumanSize(d.Size), commands.Escape(d.StorageGrade))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ErrorText is what a person is told about err: what it means for them
// and what to do. It is the one place that words the Bytemark API's typed
// errors; the API's own text is never shown (it goes to the log, with the
// request reference ref, which the caller logs). Usage errors are shown as
// they are; anything else is shown only as a reference.
func ErrorText(err error, ref string) string {
	var usage *commands.UsageError
	if errors.As(err, &usage) {
		return usage.Msg
	}
	var pt *bytemark.PowerTimeoutError
	if errors.As(err, &pt) {
		state := "off"
		if pt.PowerOn {
			state = "still on"
		}
		return fmt.Sprintf("%s did not finish: after %s the server %s is %s. `/bytemark show %s` tells how it is now.",
			pt.Action, Roughly(pt.Waited), commands.Code(pt.Server), state, commands.Escape(pt.Server))
	}
	var api *bytemark.Error
	if errors.As(err, &api) {
		switch {
		case bytemark.IsNotFound(err):
			return "Bytemark says that doesn't exist (or this bot's account can't see it). `/bytemark list` shows the servers."
		case bytemark.IsUnauthorized(err):
			return fmt.Sprintf("The bot can't log in to Bytemark right now, so nothing was done. Whoever runs the bot should check its Bytemark login (BYTEMARK_API_KEY, or BYTEMARK_USERNAME and BYTEMARK_PASSWORD) (ref %s).", ref)
		case bytemark.IsForbidden(err):
			return fmt.Sprintf("Bytemark refused: this bot's account isn't allowed to do that, so nothing was done. Whoever manages the Bytemark account can give the bot's login that permission (ref %s).", ref)
		case api.StatusCode >= 500:
			return fmt.Sprintf("The Bytemark API failed (HTTP %d), so this may not have happened; try again in a while (ref %s).", api.StatusCode, ref)
		case bytemark.IsBadRequest(err):
			return fmt.Sprintf("Bytemark refused the request, so nothing was done: it can't be done to the server as it is now. `/bytemark show` tells how the server is; if that doesn't explain it, whoever runs the bot can find Bytemark's reason in the log under ref %s.", ref)
		}
	}
	return fmt.Sprintf("Something went wrong (ref %s).", ref)
}
