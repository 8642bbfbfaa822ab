package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/console"
	"github.com/bytebot/bytebot/bot/monitor"
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
	// The monitoring webhooks, for `alert web1`: AUTO_REBOOT=on (serve's
	// default is approve), so that a test alert shows the whole way to a
	// reboot, in the thread of its report; a reset, which is quick.
	hooks := monitor.New(srv, monitor.Config{WebhookToken: bot.NewRequestID() + bot.NewRequestID(),
		Mode: monitor.ModeOn, Method: commands.RebootReset})
	return console.Run(ctx, srv, stdin, stdout, !isTerminal(stdin), testAlerter(hooks))
}

// testAlerter fires the console's test alerts through hooks's handler.
func testAlerter(hooks *monitor.Hooks) console.Alerter {
	return func(ctx context.Context, server string, resolved bool) (string, error) {
		code, ans, err := hooks.TestAlert(ctx, server, resolved)
		if err != nil {
			return "", err
		}
		what := "firing alert"
		if resolved {
			what = "resolve"
		}
		said := fmt.Sprintf("sent a %s for %s to %s; it answered %d", what, server, monitor.PathAlertmanager, code)
		var ds []string
		for d, n := range ans.Decisions {
			ds = append(ds, fmt.Sprintf("%d %s", n, d))
		}
		slices.Sort(ds)
		if len(ds) > 0 {
			said += " (" + strings.Join(ds, ", ") + ")"
		}
		if ans.Error != "" {
			said += ": " + ans.Error
		}
		return said, nil
	}
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
