package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
)

// How a command's answer reaches the person who typed it (shared/slack.md,
// "Delayed responses"): the immediate acknowledgement is ephemeral, and
// what follows goes through the command's response_url, which Slack takes
// 5 posts to within 30 minutes, wherever the command was typed (a private
// channel or DM the bot is not in too). The response_url travels in the
// job's meta, to its ticket and to the ticket's job. A command uses at most
// three of its posts: the answer that replaces the acknowledgement (a
// read's answer; a pointer to a change's result in the channel; the news
// that an approval card was posted), a result that could not be posted in
// the channel, and a root password.

// responseTTL is how long after the command the bot still posts to its
// response_url: Slack's 30 minutes, less a margin for clocks and the post.
const responseTTL = 29 * time.Minute

// msgInviteMe says how to let the bot post in a channel.
const msgInviteMe = "invite me to it (`/invite @bytemark`)"

// respond sends r through m's response_url, if it has one that is still
// good, and reports whether Slack took it. The URL is never logged: it
// lets anyone post to the channel while it lasts.
func (s *Server) respond(ctx context.Context, log *slog.Logger, m jobMeta, r Response) bool {
	if m.ResponseURL == "" {
		return false
	}
	if !m.ResponseAt.IsZero() && s.Now().Sub(m.ResponseAt) > responseTTL {
		log.Info("the command's response_url has expired; not used", "age", s.Now().Sub(m.ResponseAt).Round(time.Second).String())
		return false
	}
	if err := s.Poster.Respond(ctx, m.ResponseURL, r); err != nil {
		log.Warn("answering through the command's response_url", "err", err)
		return false
	}
	return true
}

// privately reports whether the job's answer is for the person who asked
// only: a read (list, show, discs, images) typed by someone.
func (e *execution) privately(a commands.Action) bool {
	return e.job.TicketID == "" && jobMetaOf(e.job).Phase != phaseAsk && commands.ReadOnly(a)
}

// answer gives the person who asked for a read its answer, in place of the
// acknowledgement; without a response_url (or when it fails), as an
// ephemeral message in the channel.
func (e *execution) answer(ctx context.Context, channel string, m slackui.Message) {
	if e.s.respond(ctx, e.log, jobMetaOf(e.job), Response{Message: m, Replace: true}) {
		return
	}
	if err := e.s.Poster.Ephemeral(ctx, channel, e.job.RequestedBy, m); err != nil {
		e.log.Error("answering a read failed; the answer was", "err", err, "channel", channel, "message", m.Text)
	}
}

// posted tells the person who asked for a change, in place of its
// acknowledgement, that its result is in the channel: once per job, and
// not for an approved ticket's job (the requester was told where the card
// is when it was posted).
func (e *execution) posted(ctx context.Context) {
	if e.settled || e.job.TicketID != "" {
		return
	}
	e.settled = true
	e.s.respond(ctx, e.log, jobMetaOf(e.job), Response{Replace: true, Message: slackui.Text(fmt.Sprintf(
		"The result of %s is posted in this channel.", commands.Code(e.job.Command)))})
}

// unposted gives the person who asked the message m that the bot could not
// post in the channel (err), through the response_url, saying that only
// they see it and why. It reports whether it reached them.
func (e *execution) unposted(ctx context.Context, m slackui.Message, err error) bool {
	if !errors.Is(err, ErrCantPost) {
		return false
	}
	e.settled = true
	note := "_Only you can see this: I can't post in this channel (a private channel or DM I'm not in), so no one else was told. To share results here, " + msgInviteMe + "._"
	ok := e.s.respond(ctx, e.log, jobMetaOf(e.job), Response{Replace: true, Message: slackui.WithNote(m, note)})
	if ok {
		e.log.Warn("can't post in the channel; the result went to the person who asked, through the response_url", "err", err)
	}
	return ok
}
