package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/console"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
)

// runConsole runs the real flow in a terminal: the fake Bytemark with demo
// servers, an embedded Redis, the approvals queue and the executor. It needs
// no network and no credentials.
func runConsole(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	fake := bytemarktest.NewServer()
	defer fake.Close()
	fake.SetLogLimit(1000)
	mr, err := miniredis.Run()
	if err != nil {
		return err
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()

	// Warnings and errors only, as text, so that the transcript stays readable.
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cloud, err := bytemark.NewClient(fake.Client(), bytemark.Options{
		APIURL:       fake.URL(),
		AuthURL:      fake.URL(),
		Username:     bytemarktest.Username,
		Password:     bytemarktest.Password,
		Account:      "acme",
		UserAgent:    "bytebot/" + version + " (console)",
		PollInterval: 50 * time.Millisecond,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	policy, err := commands.ParsePolicy("delete")
	if err != nil {
		return err
	}
	alice, _ := console.UserID("alice")
	bob, _ := console.UserID("bob")
	store := approvals.New(rdb, approvals.Options{Prefix: "bytebot:"})
	srv := bot.New(bot.Config{
		Approvers:         []string{alice, bob},
		ApprovalsRequired: 1,
		Policy:            policy,
		Channel:           console.Channel,
		Workers:           1,
		Inline:            true,
		// The console's tour purges at once: its clock is the terminal's.
		PurgeGrace: bot.PurgeAtOnce,
	}, cloud, store, console.NewPoster(stdout), logger)
	defer srv.Close()
	return console.Run(ctx, srv, stdin, stdout, !isTerminal(stdin))
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
