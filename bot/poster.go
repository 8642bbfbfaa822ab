package bot

import (
	"context"
	"errors"

	"github.com/bytebot/bytebot/bot/slackui"
)

// Poster is how the bot talks to chat. *slackapp.Poster implements it for
// Slack, *console.Poster for a terminal.
type Poster interface {
	// Post posts m to channel, in the thread of threadTS when it is not
	// empty, and returns the new message's timestamp (its ID in Slack).
	// When the bot can't post in channel (a private channel or DM it is
	// not in, an archived channel) the error wraps ErrCantPost.
	Post(ctx context.Context, channel, threadTS string, m slackui.Message) (ts string, err error)
	// Update replaces the message ts in channel with m.
	Update(ctx context.Context, channel, ts string, m slackui.Message) error
	// Ephemeral shows m to user only, in channel.
	Ephemeral(ctx context.Context, channel, user string, m slackui.Message) error
	// Respond sends r through a command's response_url, which reaches
	// the person wherever they typed the command, even where the bot
	// can't post.
	Respond(ctx context.Context, responseURL string, r Response) error
	// GroupMembers returns the user IDs of a user group (S…).
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// A Response is a message sent through a command's response_url.
type Response struct {
	slackui.Message
	// InChannel shows it to everyone in the channel; else only the
	// person who typed the command sees it.
	InChannel bool
	// Replace makes it replace the command's last answer (its
	// acknowledgement, at first) rather than add to it.
	Replace bool
}

// ErrCantPost is wrapped by Poster.Post's error when the bot can't post
// in the channel at all: the message can only reach people through a
// response_url.
var ErrCantPost = errors.New("bot: can't post in that channel")
