package slackapp

import (
	"context"
	"encoding/json"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/bytebot/bytebot/bot"
)

// RunSocketMode serves Slack over Socket Mode until ctx is done: slash
// commands and button clicks arrive over client's WebSocket and go to the
// same core as the HTTP routes, acknowledged within Slack's three seconds
// (a command's immediate reply is the acknowledgement's payload). No public
// URL is needed and requests need no signature check: the socket is
// authenticated with the app-level token.
func (a *App) RunSocketMode(ctx context.Context, client *socketmode.Client) error {
	s := a.s
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	ack := func(req socketmode.Request, payload any) {
		var err error
		if payload == nil {
			err = client.Ack(req)
		} else {
			err = client.Ack(req, payload)
		}
		if err != nil {
			s.Logger.Error("socket mode ack", "envelope", req.EnvelopeID, "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt, ok := <-client.Events:
			if !ok {
				return nil
			}
			// Each event in its own goroutine, so that one slow answer
			// never delays another's acknowledgement.
			s.Go(func() { a.SocketEvent(ctx, evt, ack) })
		}
	}
}

// SocketEvent dispatches one Socket Mode event and acknowledges it with
// ack (RunSocketMode's loop calls it for each event).
func (a *App) SocketEvent(ctx context.Context, evt socketmode.Event, ack func(socketmode.Request, any)) {
	s := a.s
	log := s.Logger.With("socket_event", string(evt.Type))
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello:
		log.Debug("socket mode")
		return
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage:
		log.Warn("socket mode problem", "data", errorString(evt.Data))
		return
	case socketmode.EventTypeDisconnect:
		log.Info("socket mode disconnect")
		return
	}
	if evt.Request == nil {
		return
	}
	reqID := bot.NewRequestID()
	rctx, cancel := context.WithTimeout(ctx, slackBudget)
	defer cancel()
	// Slack redelivers an envelope it thinks was not acknowledged; a command
	// or click must not run twice because of that. A slash command needs no
	// claim of its own: its job's ID comes from its trigger_id (or the
	// envelope's ID), so the enqueue itself refuses it on any replica, in
	// the same round trip, and the redelivery is answered that it is
	// already being handled. Anything else is claimed here, in Redis, so
	// that this holds across replicas too.
	if s.Store != nil && evt.Request.EnvelopeID != "" && evt.Type != socketmode.EventTypeSlashCommand {
		first, err := s.Store.Once(rctx, "envelope:"+evt.Request.EnvelopeID, time.Hour)
		if err == nil && !first {
			log.Info("socket mode redelivery ignored", "envelope", evt.Request.EnvelopeID, "retry", evt.Request.RetryAttempt)
			ack(*evt.Request, nil)
			return
		}
	}
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			ack(*evt.Request, nil)
			return
		}
		if err := s.CheckTeam(sc.TeamID, "socket_commands", sc.UserID); err != nil {
			ack(*evt.Request, replyBody(bot.TeamRefusal(err)))
			return
		}
		key := "slack:envelope:" + evt.Request.EnvelopeID
		if sc.TriggerID != "" {
			key = slackRequestKey(sc.TriggerID, "")
		}
		reply := s.Command(rctx, bot.Invocation{User: sc.UserID, Channel: sc.ChannelID, Text: sc.Text, ResponseURL: sc.ResponseURL, RequestID: reqID, Key: key})
		ack(*evt.Request, replyBody(reply))
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if ok && s.CheckTeam(ic.Team.ID, "socket_interactions", ic.User.ID) == nil {
			// A view_submission's errors go back in the acknowledgement.
			if resp := a.interaction(rctx, ic, reqID); resp != nil {
				ack(*evt.Request, resp)
				return
			}
		}
		ack(*evt.Request, nil)
	default:
		ack(*evt.Request, nil)
	}
}

func errorString(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	b, _ := json.Marshal(v)
	return string(b)
}
