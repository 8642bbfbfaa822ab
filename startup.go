package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// startupCloud is what the start-up checks ask of the Bytemark client.
type startupCloud interface {
	Ping(ctx context.Context) error
	GetGroup(ctx context.Context, group string) (*bytemark.Group, error)
}

// checkAtStart logs in to Bytemark, reads the default group, and asks
// Slack's auth.test, once, as serve starts. A failure is logged at ERROR
// with what to fix; the bot keeps serving (it may be a passing outage),
// and /readyz says not ready while Bytemark fails. It returns when the
// checks are done or ctx ends.
func checkAtStart(ctx context.Context, logger *slog.Logger, cfg *Config, cloud startupCloud, authTest func(context.Context) (string, error)) {
	bctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	switch err := cloud.Ping(bctx); {
	case err != nil:
		logger.Error("Bytemark login failed at start: no command can run until it works, and /readyz says not ready. "+
			"Check BYTEMARK_API_KEY (or BYTEMARK_USERNAME and BYTEMARK_PASSWORD), that the login may use the account, "+
			"and BYTEMARK_AUTH_URL and BYTEMARK_API_URL", "err", err)
	default:
		if _, err := cloud.GetGroup(bctx, ""); err != nil {
			logger.Error("the default group can't be read at start: short server names (web1) won't work. "+
				"Check BYTEMARK_GROUP and BYTEMARK_ACCOUNT name a group this login can see", "group", cfg.BytemarkGroup, "account", cfg.BytemarkAccount, "err", err)
		} else {
			logger.Info("Bytemark login works", "group", cfg.BytemarkGroup, "account", cfg.BytemarkAccount)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	team, err := authTest(sctx)
	switch {
	case err != nil:
		logger.Error("Slack auth.test failed at start: the bot can't post answers, cards or results. "+
			"Check SLACK_BOT_TOKEN (reinstall the app if it was revoked) and SLACK_API_URL", "err", err)
	case cfg.SlackTeamID != "" && team != cfg.SlackTeamID:
		logger.Error("Slack auth.test names another workspace than SLACK_TEAM_ID: every Slack request will be refused. "+
			"Set SLACK_TEAM_ID to the workspace of SLACK_BOT_TOKEN", "token_team", team, "SLACK_TEAM_ID", cfg.SlackTeamID)
	default:
		logger.Info("Slack login works", "team", team)
	}
}

// firstAnswer calls ask until it answers without an error, and from then
// on gives that answer without asking again (a token's workspace doesn't
// change).
func firstAnswer(ask func(context.Context) (string, error)) func(context.Context) (string, error) {
	var mu sync.Mutex
	var answer string
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if answer != "" {
			return answer, nil
		}
		a, err := ask(ctx)
		if err == nil {
			answer = a
		}
		return a, err
	}
}

// warnNoApprovers says, at start, when requests that need approval can
// never run: there is nobody to approve them. Purges and reimages always
// need approval, so that is whenever APPROVERS is empty.
func warnNoApprovers(logger *slog.Logger, cfg *Config) {
	if len(cfg.Approvers) > 0 || cfg.PolicyFile != "" {
		return
	}
	logger.Warn("APPROVERS is empty: purges, reimages and the actions in APPROVAL_ACTIONS need approval, "+
		"and with nobody to approve them those requests can never run (they are refused, saying so). Set APPROVERS to Slack user or user-group IDs",
		"approval_actions", cfg.ApprovalActions)
}
