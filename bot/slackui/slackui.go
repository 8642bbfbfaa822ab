// Package slackui renders what bytebot says in Slack: approval cards,
// results, errors, and the small pieces they are made of (mentions, times,
// sizes, truncation to Slack's limits). Its functions are pure: they return
// Messages and strings and know nothing of the server that posts them.
// Text from outside the bot is escaped with commands.Escape and
// commands.Code, the one escaper.
package slackui

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/commands"
)

// A Message is something the bot says. Text is the fallback and notification
// text; Blocks, when present, are what Slack shows.
type Message struct {
	Text   string
	Blocks []slack.Block
}

// Plain is a plain-text block object.
func Plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Mrkdwn is a mrkdwn block object.
func Mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// Mention formats a user ID so that Slack shows the user's name.
func Mention(user string) string {
	if user == "" {
		return "someone"
	}
	if slackUserID.MatchString(user) {
		return "<@" + user + ">"
	}
	return commands.Escape(user) // e.g. "alertmanager"
}

// slackUserID is what a Slack user ID looks like; anything else in a
// mention is shown escaped, as text.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// Mentions formats users as a list of mentions.
func Mentions(users []string) string {
	var ms []string
	for _, u := range users {
		ms = append(ms, Mention(u))
	}
	return strings.Join(ms, ", ")
}

// Time shows t in each reader's own time zone, with a UTC fallback.
func Time(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	rel := t.Sub(now).Round(time.Second)
	fallback := t.UTC().Format("2006-01-02 15:04 UTC")
	s := fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), fallback)
	if rel > 0 {
		s += " (in " + Roughly(rel) + ")"
	}
	return s
}

// Plural formats n things: "1 core", "2 cores".
func Plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// Truncate shortens s to at most n runes.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Text is a plain message with one mrkdwn section.
func Text(s string) Message {
	s = Truncate(s, 3000)
	return Message{Text: s, Blocks: []slack.Block{slack.NewSectionBlock(Mrkdwn(s), nil, nil)}}
}

// WithNote returns m with note (mrkdwn) added at its end.
func WithNote(m Message, note string) Message {
	if len(m.Blocks) == 0 {
		m = Text(m.Text)
	}
	blocks := append(append([]slack.Block(nil), m.Blocks...), slack.NewContextBlock("", Mrkdwn(Truncate(note, 3000))))
	return Message{Text: Truncate(m.Text+"\n"+note, 3000), Blocks: blocks}
}

// Roughly formats d for people: "15 minutes", "1 hour 30 minutes"
// (commands.HumanDuration, the one way durations are said).
func Roughly(d time.Duration) string { return commands.HumanDuration(d) }
