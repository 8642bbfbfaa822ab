package slackapp

import (
	"context"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
)

// undoAction handles act if it is a press of Undo (a staged purge's card)
// or Undelete (a soft delete's result), and reports whether it was. A
// refused press is explained privately to the presser.
func (a *App) undoAction(ctx context.Context, ic slack.InteractionCallback, act *slack.BlockAction, channel, reqID string) bool {
	if act.ActionID != slackui.ActionUndo && act.ActionID != slackui.ActionUndelete {
		return false
	}
	s := a.s
	c := bot.UndoClick{
		User:      ic.User.ID,
		ID:        act.Value,
		Undelete:  act.ActionID == slackui.ActionUndelete,
		Channel:   channel,
		Bound:     strings.TrimPrefix(act.BlockID, slackui.UndoPrefix),
		RequestID: reqID,
	}
	if !strings.HasPrefix(act.BlockID, slackui.UndoPrefix) {
		c.Bound = "" // refused: the press can't be placed
	}
	reply := s.Undo(ctx, c)
	if reply.Text != "" && channel != "" {
		s.Go(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := s.Poster.Ephemeral(ctx, channel, c.User, reply.Message); err != nil {
				s.Logger.Error("telling someone why their Undo was refused", "req", reqID, "err", err)
			}
		})
	}
	return true
}
