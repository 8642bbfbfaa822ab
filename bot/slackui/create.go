package slackui

import (
	"fmt"
	"strings"

	"github.com/bytebot/bytebot/commands"
)

// creates lists what a create makes, and what it costs, for its card.
func creates(snap Subject) string {
	var b strings.Builder
	b.WriteString("*What it creates*\n")
	fmt.Fprintf(&b, "• a new server %s\n", commands.Code(snap.Name))
	fmt.Fprintf(&b, "• %s, %s memory\n", Plural(snap.Cores, "core"), commands.HumanSize(snap.Memory))
	for _, d := range snap.Discs {
		fmt.Fprintf(&b, "• disc %s: %s, %s\n", commands.Code(d.Label), commands.HumanSize(d.Size), commands.Escape(d.Grade))
	}
	if snap.Image != "" {
		fmt.Fprintf(&b, "• image %s, with a new root password for the requester alone\n", commands.Code(snap.Image))
	} else {
		b.WriteString("• no operating system (no image)\n")
	}
	b.WriteString("*It costs money:* Bytemark bills a server from when it is created until it is purged, by its cores, memory and discs (above), whether it is on or off.")
	return b.String()
}
