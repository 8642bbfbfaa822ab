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
func runConsole(ctx context.Context, lookup func(string) (string, bool), stdin io.Reader, stdout io.Writer) error {
	cfg, err := consoleConfig(ctx, lookup)
	if err != nil {
		return err
	}
	fake := bytemarktest.NewServer()
	defer fake.Close()
	fake.SetLogLimit(1000)
	rdb, closeRedis, err := embeddedRedis()
	if err != nil {
		return err
	}
	defer closeRedis()

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
	policy, err := commands.ParsePolicy(cfg.ApprovalActions)
	if err != nil {
		return err
	}
	alice, _ := console.UserID("alice")
	bob, _ := console.UserID("bob")
	store := approvals.New(rdb, approvals.Options{Prefix: "bytebot:"})
	// serve's settings, as serve reads them, with the console's own people,
	// channel and way of running work.
	bc := botConfig(cfg, policy)
	bc.SigningSecret, bc.TeamID = "", ""
	bc.Approvers = []string{alice, bob}
	bc.AllowedUsers, bc.AllowedChannels = nil, nil
	bc.Channel = console.Channel
	bc.Workers = 1
	bc.Inline = true
	// The console purges at once, and holds no reboot (REBOOT_DELAY):
	// nothing in it waits for time to pass.
	bc.PurgeGrace = bot.PurgeAtOnce
	srv := bot.New(bc, cloud, store, console.NewPoster(stdout), logger)
	defer srv.Close()
	// The monitoring webhooks, for `alert web1`, with serve's settings;
	// unless they are set, AUTO_REBOOT=on (serve's default is approve), so
	// that a test alert shows the whole way to a reboot, in the thread of
	// its report, and REBOOT_METHOD=reset, which is quick.
	mc := monitorConfig(cfg)
	mc.WebhookToken, mc.GrafanaHMACSecret = bot.NewRequestID()+bot.NewRequestID(), ""
	if _, set := lookup("AUTO_REBOOT"); !set {
		mc.Mode = monitor.ModeOn
	}
	if _, set := lookup("REBOOT_METHOD"); !set {
		mc.Method = commands.RebootReset
	}
	hooks := monitor.New(srv, mc)
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

// consoleSettings are serve's settings that make sense in the console; the
// others (Slack, Bytemark logins, Redis, listeners) it doesn't use.
var consoleSettings = []string{"APPROVAL_ACTIONS", "APPROVALS_REQUIRED", "APPROVAL_TTL", "AUTO_REBOOT",
	"REBOOT_LABEL", "REBOOT_METHOD", "REBOOT_COOLDOWN", "REBOOT_MAX_PER_DAY",
	"REBOOT_FLEET_MAX", "REBOOT_FLEET_WINDOW", "REBOOT_ALLOW", "PROTECTED_SERVERS", "BLAST_RADIUS"}

// consoleConfig reads the console's settings (consoleSettings) from the
// environment with serve's configuration code: the same defaults, the
// same checks, one message listing every problem.
func consoleConfig(ctx context.Context, lookup func(string) (string, bool)) (*Config, error) {
	only := func(key string) (string, bool) {
		if slices.Contains(consoleSettings, key) {
			return lookup(key)
		}
		return "", false
	}
	cfg, problems, err := readConfig(ctx, only)
	if err != nil {
		return nil, err
	}
	var mine []string
	for _, p := range problems {
		key, _, _ := strings.Cut(p, ":")
		if slices.Contains(consoleSettings, key) {
			mine = append(mine, p)
		}
	}
	if len(mine) > 0 {
		return nil, &ConfigError{Problems: mine}
	}
	return cfg, nil
}
