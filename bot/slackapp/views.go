package slackapp

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
)

// OpenView opens modal v with the trigger_id of the interaction that asks
// for it (views.open). It is tried once: a trigger lives three seconds
// and opens one view.
func (p *Poster) OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) error {
	if _, err := p.api.OpenViewContext(ctx, triggerID, v); err != nil {
		p.errors.WithLabelValues("views.open", errorLabel(err)).Inc()
		return fmt.Errorf("slack views.open: %w", err)
	}
	return nil
}

// viewOpener is what opens modals: *Poster.
type viewOpener interface {
	OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) error
}

// approve handles a press of an Approve button: a vote, or, for an
// irreversible action, the type-the-name modal opened with the press's
// trigger_id (which counts nothing). It returns what to tell the presser
// privately ("" for nothing).
func (a *App) approve(ctx context.Context, ic slack.InteractionCallback, c bot.Click) bot.Reply {
	s := a.s
	reply, confirm := s.Press(ctx, c)
	if confirm == nil {
		return reply
	}
	views, ok := s.Poster.(viewOpener)
	if !ok {
		s.Logger.Error("an approval needs the type-the-name modal, and the poster can't open views", "req", c.RequestID)
		return bot.Reply{Message: slackui.Text("This approval needs the server's name typed, and I can't ask for it here. Nothing was counted.")}
	}
	if err := views.OpenView(ctx, ic.TriggerID, slackui.ConfirmModal(*confirm)); err != nil {
		s.Logger.Error("opening the type-the-name modal", "req", c.RequestID, "ticket", c.TicketID, "err", err)
		return bot.Reply{Message: slackui.Text("I couldn't open the box to type the server's name in (Slack said no in time). Nothing was counted: press Approve again.")}
	}
	return bot.Reply{}
}

// viewSubmission handles a view_submission: the type-the-name modal's
// answer, a name-checked vote. It returns the answer to the submission:
// nil closes the modal (the vote counted), errors keep it open with the
// reason under the input (nothing counted).
func (a *App) viewSubmission(ctx context.Context, ic slack.InteractionCallback, reqID string) *slack.ViewSubmissionResponse {
	if ic.View.CallbackID != slackui.CallbackConfirm {
		return nil
	}
	fail := func(msg string) *slack.ViewSubmissionResponse {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{slackui.BlockConfirmName: slackui.Truncate(msg, 1000)})
	}
	ticket, channel, ok := slackui.ParseConfirmMetadata(ic.View.PrivateMetadata)
	if !ok {
		return fail("This box doesn't belong to any request; nothing was counted.")
	}
	typed := ""
	if ic.View.State != nil {
		typed = ic.View.State.Values[slackui.BlockConfirmName][slackui.ActionConfirmName].Value
	}
	reply := a.s.Click(ctx, bot.Click{
		User: ic.User.ID, TicketID: ticket, Approve: true,
		Channel: channel, Bound: channel, RequestID: reqID, Name: typed,
	})
	if reply.Text != "" {
		return fail(reply.Text)
	}
	return nil
}

// tell shows reply to user privately in channel, after the answer to Slack.
func (a *App) tell(ctx context.Context, channel, user, reqID string, reply bot.Reply) {
	s := a.s
	if reply.Text == "" {
		return
	}
	s.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.Poster.Ephemeral(ctx, channel, user, reply.Message); err != nil {
			s.Logger.Error("telling a voter why their vote was refused", "req", reqID, "err", err)
		}
	})
}
