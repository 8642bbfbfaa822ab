package commands

import (
	"fmt"
	"slices"
	"strings"
)

// HelpText returns the help (Slack mrkdwn, so < and > are escaped as &lt;
// and &gt;) for topic: "" for every command,
// a command name such as "restart" or "disc add", or "disc" for the disc
// commands. It is generated from the table Parse uses. An unknown topic
// gets the full list.
func HelpText(topic string) string {
	topic = strings.ToLower(strings.Join(strings.Fields(topic), " "))
	if c := lookup(topic); c != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "`%s`\n%s", c.usage(), c.summary)
		if c.detail != "" {
			fmt.Fprintf(&b, "\n%s", c.detail)
		}
		b.WriteString("\nFor example: ")
		for i, e := range c.examples {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "`/bytemark %s`", e)
		}
		if c.args != nil && c.args[0] == argServer {
			b.WriteString("\n" + serverNames)
		}
		if slices.Contains(powerCommands, c.name) {
			b.WriteString("\n" + targetsHelp)
		}
		return b.String()
	}
	var b strings.Builder
	if topic == "disc" {
		b.WriteString("*Disc commands*\n")
	} else {
		b.WriteString("*Bytemark commands* (type `/bytemark help &lt;command&gt;` for more)\n")
	}
	for _, c := range table {
		if topic == "disc" && !strings.HasPrefix(c.name, "disc ") {
			continue
		}
		fmt.Fprintf(&b, "• `%s`: %s\n", c.usage(), c.summary)
	}
	b.WriteString(serverNames + " Sizes look like " + SizeExamples + "; a bare number is GiB.")
	if topic == "" {
		b.WriteString(" The power commands also take many servers: `group:&lt;group&gt;` or a glob such as `web*`.")
	}
	if topic == "" {
		b.WriteString(" Purges and reimages always need approval; other actions may too, as configured.")
	}
	return b.String()
}
