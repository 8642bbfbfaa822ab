package commands

import "strings"

// Escape makes text from outside the bot (the Bytemark API, monitoring,
// people) harmless in Slack mrkdwn, with Slack's own escapes for &, < and
// >: it can't mention anyone (<!channel>, <@U…>) or make a link. It is the
// one escaper: everything the bot shows in Slack that it didn't write
// itself goes through it (or through Code), in results and cards alike.
func Escape(s string) string { return escaper.Replace(s) }

// Code quotes s as inline code, escaped: without backticks (which would
// end the span) or line breaks, and with &, < and > escaped, since Slack
// reads <!channel> and <@U…> even inside a code span.
func Code(s string) string { return "`" + Escape(codeUnsafe.Replace(s)) + "`" }

// (Replacers are safe for concurrent use and never change.)
var (
	escaper    = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	codeUnsafe = strings.NewReplacer("`", "'", "\n", " ")
)
