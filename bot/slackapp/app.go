// Package slackapp is bytebot's Slack transport: the HTTP routes Slack
// calls (slash commands, button clicks, verified by their signatures),
// health and readiness, Socket Mode, the app manifest, and the poster
// that talks to the Slack Web API. It drives the core (bot.Server)
// through its public methods; the core knows nothing of it.
package slackapp

import (
	"context"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/bot"
)

// An App serves Slack for a bot.Server.
type App struct {
	s *bot.Server
}

// New returns the Slack transport of s.
func New(s *bot.Server) *App { return &App{s: s} }

// Handler returns the public HTTP routes: Slack's, health and readiness,
// and those that others registers (main gives the monitoring webhooks'
// monitor.Hooks.Register), all logged with a request ID. Metrics are not
// among them (a 404): bot.Server.MetricsHandler serves them on a listener
// of their own (METRICS_ADDR).
func (a *App) Handler(others ...func(*http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+CommandsPath, a.Verified("commands", a.handleCommands))
	mux.Handle("POST "+InteractionsPath, a.Verified("interactions", a.handleInteractions))
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.HandleFunc("GET /readyz", a.handleReadyz)
	for _, register := range others {
		register(mux)
	}
	return a.LogRequests(mux)
}

// AuthTest returns a function for LearnTeam that asks api's auth.test.
func AuthTest(api *slack.Client) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		r, err := api.AuthTestContext(ctx)
		if err != nil {
			return "", err
		}
		return r.TeamID, nil
	}
}
