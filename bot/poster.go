package bot

import (
	"context"

	"github.com/bytebot/bytebot/bot/slackui"
)

// Poster is how the bot talks to chat. *slackapp.Poster implements it for
// Slack, *console.Poster for a terminal.
type Poster interface {
	// Post posts m to channel, in the thread of threadTS when it is not
	// empty, and returns the new message's timestamp (its ID in Slack).
	Post(ctx context.Context, channel, threadTS string, m slackui.Message) (ts string, err error)
	// Update replaces the message ts in channel with m.
	Update(ctx context.Context, channel, ts string, m slackui.Message) error
	// Ephemeral shows m to user only, in channel.
	Ephemeral(ctx context.Context, channel, user string, m slackui.Message) error
	// GroupMembers returns the user IDs of a user group (S…).
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}
