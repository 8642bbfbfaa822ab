package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bytebot/bytebot/bot"
)

// reloadPolicyOnHUP reloads POLICY_FILE on every SIGHUP until ctx is done.
// A file that doesn't load keeps the policy in force, and the log says
// why, problem by problem; one that does is in force for the next request.
func reloadPolicyOnHUP(ctx context.Context, cfg *Config, srv *bot.Server, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		reloadPolicy(cfg, srv, logger)
	}
}

// reloadPolicy loads POLICY_FILE again and puts it in force if it is valid.
func reloadPolicy(cfg *Config, srv *bot.Server, logger *slog.Logger) {
	old := srv.Policy()
	if cfg.PolicyFile == "" {
		logger.Warn("SIGHUP: no POLICY_FILE to reload; the policy comes from the environment and changes only with a restart", "sha256", old.Hash)
		return
	}
	p, err := loadPolicy(cfg)
	if err != nil {
		problems := []string{err.Error()}
		if ce, ok := err.(*ConfigError); ok {
			problems = ce.Problems
		}
		logger.Error("SIGHUP: the policy file was not reloaded; the policy in force stays", "file", cfg.PolicyFile,
			"problems", problems, "sha256", old.Hash)
		return
	}
	srv.SetPolicy(p)
	logger.Info("SIGHUP: policy reloaded", "file", cfg.PolicyFile, "rules", len(p.Rules), "sha256", p.Hash, "was", old.Hash)
}
