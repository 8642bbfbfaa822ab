package slackapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
)

// slackBudget is how long a Slack request may take to answer, leaving
// margin under Slack's three seconds.
const slackBudget = 2500 * time.Millisecond

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's writer (read
// deadlines of webhook bodies).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// LogRequests gives each request an ID (echoed in X-Request-Id) and logs
// it. It never reads the body or logs headers, which carry secrets.
func (a *App) LogRequests(next http.Handler) http.Handler {
	s := a.s
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := bot.NewRequestID()
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(sw, r.WithContext(bot.WithRequestID(r.Context(), id)))
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			level = slog.LevelDebug
		}
		s.Logger.Log(r.Context(), level, "http", "req", id, "method", r.Method, "path", r.URL.Path,
			"status", sw.code, "took", time.Since(start).String())
	})
}

// Verified wraps a Slack route: it reads the body (at most
// Config.MaxBodyBytes, else 413), checks Slack's signature and timestamp
// over the raw bytes (else 401) and only then calls next with the body.
// Slack's ssl_check pings get an empty 200 and nothing else.
func (a *App) Verified(route string, next func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := a.verify(w, r, next)
		a.s.CountRequest(route, code)
	})
}

func (a *App) verify(w http.ResponseWriter, r *http.Request, next func(w http.ResponseWriter, r *http.Request, body []byte)) int {
	s := a.s
	log := s.Logger.With("req", bot.RequestID(r.Context()), "path", r.URL.Path)
	if r.ContentLength > s.Config.MaxBodyBytes {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return http.StatusRequestEntityTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Config.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return http.StatusRequestEntityTooLarge
		}
		http.Error(w, "bad request", http.StatusBadRequest)
		return http.StatusBadRequest
	}
	sv, err := slack.NewSecretsVerifier(r.Header, s.Config.SigningSecret)
	if err == nil {
		_, err = sv.Write(body)
	}
	if err == nil {
		err = sv.Ensure()
	}
	if err != nil {
		if isSSLCheck(body) {
			// Slack checks the certificate with an ssl_check POST; it only
			// needs a 200, and this answer does nothing.
			w.WriteHeader(http.StatusOK)
			return http.StatusOK
		}
		log.Warn("refused Slack request", "why", err.Error())
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return http.StatusUnauthorized
	}
	if isSSLCheck(body) {
		w.WriteHeader(http.StatusOK)
		return http.StatusOK
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	next(sw, r, body)
	if sw.code == 0 {
		return http.StatusOK
	}
	return sw.code
}

// isSSLCheck reports whether body is Slack's ssl_check ping (and nothing
// else that could be acted on).
func isSSLCheck(body []byte) bool {
	v, err := url.ParseQuery(string(body))
	return err == nil && v.Get("ssl_check") == "1" && v.Get("command") == "" && v.Get("payload") == ""
}

// handleCommands handles the "POST /slack/commands" route: a slash command.
// The answer is always a 200 within Slack's three seconds; slow work is
// queued and its result posted to the channel.
func (a *App) handleCommands(w http.ResponseWriter, r *http.Request, _ []byte) {
	s := a.s
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		writeReply(w, bot.Reply{Message: slackui.Text("Sorry, I couldn't read that command.")})
		return
	}
	if err := s.CheckTeam(sc.TeamID, "commands", sc.UserID); err != nil {
		writeReply(w, bot.TeamRefusal(err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), slackBudget)
	defer cancel()
	reply := s.Command(ctx, bot.Invocation{
		User:        sc.UserID,
		Channel:     sc.ChannelID,
		Text:        sc.Text,
		ResponseURL: sc.ResponseURL,
		RequestID:   bot.RequestID(r.Context()),
		Key:         slackRequestKey(sc.TriggerID, r.Header.Get("X-Slack-Signature")),
	})
	writeReply(w, reply)
}

// slackRequestKey identifies a Slack request for Invocation.Key: by its
// trigger_id, which Slack makes for each command typed and which a retry
// (X-Slack-Retry-Num) or a replay repeats with the rest of the signed body;
// without one, by its signature, which only an exact replay repeats.
func slackRequestKey(triggerID, signature string) string {
	if triggerID != "" {
		return "slack:trigger:" + triggerID
	}
	return "slack:signature:" + signature
}

// handleInteractions handles the "POST /slack/interactions" route: clicks on
// approval cards. The vote is one Redis round trip; the card update and any
// private explanation for the clicker follow after the 200.
func (a *App) handleInteractions(w http.ResponseWriter, r *http.Request, _ []byte) {
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	switch err := a.s.CheckTeam(ic.Team.ID, "interactions", ic.User.ID); {
	case errors.Is(err, bot.ErrOtherTeam):
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), slackBudget)
	defer cancel()
	if resp := a.interaction(ctx, ic, bot.RequestID(r.Context())); resp != nil {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// interaction handles a Slack interaction from any transport, and returns
// the answer to give Slack with the acknowledgement (nil for none): a
// view_submission's errors.
func (a *App) interaction(ctx context.Context, ic slack.InteractionCallback, reqID string) *slack.ViewSubmissionResponse {
	s := a.s
	if ic.Type == slack.InteractionTypeViewSubmission {
		return a.viewSubmission(ctx, ic, reqID)
	}
	if ic.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	channel := ic.Container.ChannelID
	if channel == "" {
		channel = ic.Channel.ID
	}
	for _, act := range ic.ActionCallback.BlockActions {
		if act != nil && a.undoAction(ctx, ic, act, channel, reqID) { // undo.go
			continue
		}
		if act == nil || act.ActionID != slackui.ActionApprove && act.ActionID != slackui.ActionDeny {
			continue
		}
		c := bot.Click{
			User:      ic.User.ID,
			TicketID:  act.Value,
			Approve:   act.ActionID == slackui.ActionApprove,
			Channel:   channel,
			Bound:     strings.TrimPrefix(act.BlockID, slackui.BlockPrefix),
			RequestID: reqID,
		}
		if c.Channel == "" || !strings.HasPrefix(act.BlockID, slackui.BlockPrefix) {
			c.Channel, c.Bound = "?", "" // refuse: the click can't be placed
		}
		var reply bot.Reply
		if c.Approve {
			reply = a.approve(ctx, ic, c)
		} else {
			reply = s.Click(ctx, c)
		}
		a.tell(ctx, channel, c.User, reqID, reply)
	}
	return nil
}

// replyJSON is the body of an immediate answer to a slash command.
type replyJSON struct {
	ResponseType string        `json:"response_type"`
	Text         string        `json:"text"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

func replyBody(r bot.Reply) replyJSON {
	rt := slack.ResponseTypeEphemeral
	if r.InChannel {
		rt = slack.ResponseTypeInChannel
	}
	return replyJSON{ResponseType: rt, Text: r.Text, Blocks: r.Blocks}
}

func writeReply(w http.ResponseWriter, r bot.Reply) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(replyBody(r))
}

// handleHealthz handles the "GET /healthz" route: the process is alive.
func handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// handleReadyz handles the "GET /readyz" route: Redis answers and the
// Bytemark login works (as last checked, at most Config.ReadyEvery ago).
func (a *App) handleReadyz(w http.ResponseWriter, r *http.Request) {
	failed := a.s.Ready(r.Context(), bot.RequestID(r.Context()))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	policy := "policy " + a.s.PolicyVersion() + "\n" // which version of the policy is in force
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready: "+strings.Join(failed, ", ")+"\n"+policy)
		return
	}
	io.WriteString(w, "ready\n"+policy)
}
