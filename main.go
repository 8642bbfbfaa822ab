// Command bytebot is a Slack chat-ops bot and webhook service for Bytemark
// Cloud servers. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
	"github.com/bytebot/bytebot/internal/redisconn"
)

// version and commit are stamped at build time with
// -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

// The compile-time checks that the concrete types satisfy the interfaces
// their users declare.
var (
	_ bot.Cloud      = (*bytemark.Client)(nil)
	_ commands.Cloud = (*bytemark.Client)(nil)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			fmt.Fprint(os.Stderr, ce.Long())
		} else {
			fmt.Fprintln(os.Stderr, "bytebot:", err)
		}
		os.Exit(1)
	}
}

const usage = `Usage: bytebot [command] [flags]

Commands:
  serve                         the service: Slack (HTTP or Socket Mode), monitoring webhooks, executor (default)
  console                       the whole flow in this terminal, against a built-in fake Bytemark; needs nothing
  fake-bytemark --listen ADDR   serve the fake Bytemark API and auth host (demo data) on ADDR
  manifest --url https://HOST   print the Slack app manifest for a bot served at HOST (--socket-mode for Socket Mode)
  policy check|explain|test     validate, explain and test a policy file offline (bytebot policy help)
  version                       print the version

Configuration is read from the environment; see README.md.
`

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, lookup, stderr)
	case "console":
		return runConsole(ctx, lookup, stdin, stdout)
	case "fake-bytemark":
		return fakeBytemark(ctx, args, stdout)
	case "manifest":
		return manifest(args, stdout)
	case "policy":
		return policyCmd(ctx, args, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "bytebot %s (%s)\n", version, commit)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func serve(ctx context.Context, lookup func(string) (string, bool), stderr io.Writer) error {
	start := time.Now()
	// Everything that can be wrong with the configuration is found before
	// anything is logged as starting, and said in one message: the
	// settings, the policy, and the listen addresses.
	cfg, problems, err := readConfig(ctx, lookup)
	if err != nil {
		return err
	}
	ce := &ConfigError{Problems: problems}
	var pol *policy.Policy
	if len(problems) == 0 {
		var pce *ConfigError
		if pol, err = loadPolicy(cfg); errors.As(err, &pce) {
			ce.Problems = append(ce.Problems, pce.Problems...)
		} else if err != nil {
			return err
		}
	}
	ln := listen("LISTEN_ADDR", cfg.ListenAddr, ce)
	mln := listen("METRICS_ADDR", cfg.MetricsAddr, ce) // /metrics has a listener of its own, which need not be public
	for _, l := range []net.Listener{ln, mln} {
		if l != nil {
			defer l.Close()
		}
	}
	if len(ce.Problems) > 0 {
		return ce
	}
	logger := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	logger.Info("bytebot starting", "version", version, "commit", commit)
	logger.Info("policy loaded", "source", pol.Source, "rules", len(pol.Rules), "sha256", pol.Hash)
	warnNoApprovers(logger, cfg)

	rdb, redisKind, closeRedis, err := openRedis(cfg.RedisURL, logger)
	if err != nil {
		return err
	}
	defer closeRedis()

	cloud, err := bytemark.NewClient(&http.Client{Timeout: 60 * time.Second}, bytemark.Options{
		APIURL:    cfg.BytemarkAPIURL,
		AuthURL:   cfg.BytemarkAuthURL,
		APIKey:    cfg.BytemarkAPIKey,
		Username:  cfg.BytemarkUsername,
		Password:  cfg.BytemarkPassword,
		Account:   cfg.BytemarkAccount,
		Group:     cfg.BytemarkGroup,
		UserAgent: "bytebot/" + version,
		Logger:    logger,
	})
	if err != nil {
		return fmt.Errorf("bytemark client: %w", err)
	}

	slackOpts := []slack.Option{slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second})}
	if cfg.SocketMode() {
		slackOpts = append(slackOpts, slack.OptionAppLevelToken(cfg.SlackAppToken))
	}
	api := slack.New(cfg.SlackBotToken, slackOpts...)

	approval, err := commands.ParsePolicy(cfg.ApprovalActions)
	if err != nil {
		return fmt.Errorf("APPROVAL_ACTIONS: %w", err)
	}
	store := approvals.New(rdb, approvals.Options{Prefix: cfg.RedisPrefix, Lease: cfg.JobLease,
		WaitReplicas: redisKind.WaitReplicas()})
	// Keys of versions before the hash tag ("bytebot:…") move to their
	// names now ("{bytebot}:…") once, before Load makes a new work queue.
	moveCtx, cancelMove := context.WithTimeout(ctx, 10*time.Second)
	if n, err := store.MoveLegacyKeys(moveCtx); err != nil {
		logger.Warn("could not move keys to their hash-tagged names; will try at the next start", "err", err, "moved", n)
	} else if n > 0 {
		logger.Info("moved keys to their hash-tagged names", "moved", n)
	}
	cancelMove()
	// Load the scripts now, so that the first vote is one round trip too. A
	// Redis that is down now is not fatal: /readyz says so until it is back.
	loadCtx, cancelLoad := context.WithTimeout(ctx, 3*time.Second)
	if err := store.Load(loadCtx); err != nil {
		logger.Warn("redis is not answering yet; the bot will keep trying", "err", err)
	}
	cancelLoad()
	poster := slackapp.NewPoster(api, logger)
	poster.APIURL = cfg.SlackAPIURL // response_urls are posted to on its hooks host only
	botCfg := botConfig(cfg, approval)
	botCfg.Rules = pol // the one policy every request is decided by
	srv := bot.New(botCfg, cloud, store, poster, logger)
	app := slackapp.New(srv)                      // the Slack transport: HTTP routes and Socket Mode
	hooks := monitor.New(srv, monitorConfig(cfg)) // the monitoring webhooks, refusing every delivery unless configured
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	// auth.test is asked once: to learn the workspace (when SLACK_TEAM_ID
	// is unset) and for the start-up check, which share its answer.
	authTest := firstAnswer(slackapp.AuthTest(api))
	if cfg.SlackTeamID == "" {
		// Slack requests are refused until auth.test names the workspace.
		srv.LearnTeam(workCtx, authTest)
	}

	httpSrv := &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           app.Handler(hooks.Register),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	metricsSrv := &http.Server{
		Addr:              cfg.MetricsAddr,
		Handler:           srv.MetricsHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	errc := make(chan error, 4)
	go func() { errc <- srv.Run(workCtx) }()
	go reloadPolicyOnHUP(workCtx, cfg, srv, logger)
	// Held reboots (REBOOT_DELAY) are decided when their hold ends, by
	// whichever replica takes them first.
	holdsDone := make(chan struct{})
	go func() {
		defer close(holdsDone)
		hooks.Run(workCtx)
	}()
	if cfg.SocketMode() {
		go func() { errc <- app.RunSocketMode(workCtx, socketmode.New(api)) }()
	}
	go func() {
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() {
		if err := metricsSrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	checked := make(chan struct{}) // the start-up checks, which end with workCtx at the latest
	go func() {
		defer close(checked)
		checkAtStart(workCtx, logger, cfg, cloud, authTest)
	}()
	logger.Info("bytebot serving", "addr", ln.Addr().String(), "metrics_addr", mln.Addr().String(), "socket_mode", cfg.SocketMode(),
		"webhooks", cfg.WebhooksEnabled(), "startup", time.Since(start).String())

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("bytebot shutting down")
	case runErr = <-errc:
		logger.Error("bytebot stopping", "err", runErr)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	if err := metricsSrv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("metrics shutdown", "err", err)
	}
	stopWork() // workers finish or hand back the jobs they hold
	select {   // a hold being decided is decided to the end (within 30 s)
	case <-holdsDone:
	case <-shutdownCtx.Done():
	}
	<-checked
	srv.Shutdown(shutdownCtx)
	return runErr
}

// purgeGrace is PURGE_GRACE for the bot: 0s purges at once.
func purgeGrace(d time.Duration) time.Duration {
	if d == 0 {
		return bot.PurgeAtOnce
	}
	return d
}

// listen listens on addr (the setting key) if it is an address at all,
// adding why it can't to ce's problems.
func listen(key, addr string, ce *ConfigError) net.Listener {
	if !listenAddr(addr) {
		return nil // already a problem of the configuration
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		ce.Problems = append(ce.Problems, fmt.Sprintf("%s: %s: can't listen: %v", key, addr, listenReason(err)))
		return nil
	}
	return ln
}

// listenReason is why a listen failed, without the operation and address
// that the message already names.
func listenReason(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

func botConfig(cfg *Config, policy commands.Policy) bot.Config {
	return bot.Config{
		SigningSecret:     cfg.SlackSigningSecret,
		AllowedUsers:      cfg.AllowedUsers,
		AllowedChannels:   cfg.AllowedChannels,
		Approvers:         cfg.Approvers,
		Protected:         cfg.ProtectedServers,
		PurgeGrace:        purgeGrace(cfg.PurgeGrace),
		BlastRadius:       cfg.BlastRadius,
		ApprovalsRequired: cfg.ApprovalsRequired,
		ApprovalTTL:       cfg.ApprovalTTL,
		GroupMaxAge:       cfg.UsergroupMaxAge,
		Policy:            policy,
		Channel:           cfg.SlackChannel,
		TeamID:            cfg.SlackTeamID,
		Workers:           cfg.Workers,
		// Six heartbeats per lease: a worker that is alive never loses its job.
		Heartbeat: cfg.JobLease / 6,
	}
}

// monitorConfig is the monitoring webhooks' part of cfg.
func monitorConfig(cfg *Config) monitor.Config {
	return monitor.Config{
		WebhookToken:      cfg.WebhookToken,
		GrafanaHMACSecret: cfg.GrafanaHMACSecret,
		Mode:              cfg.AutoReboot,
		Label:             cfg.RebootLabel,
		Method:            cfg.RebootMethod,
		Cooldown:          cfg.RebootCooldown,
		MaxPerDay:         cfg.RebootMaxPerDay,
		Delay:             cfg.RebootDelay,
		FleetMax:          cfg.RebootFleetMax,
		FleetWindow:       cfg.RebootFleetWindow,
		Allow:             cfg.RebootAllow,

		GrafanaAllowNoTimestamp: cfg.GrafanaAllowNoTimestamp,
	}
}

// openRedis connects to REDIS_URL, or, when it is unset, starts an embedded
// in-memory Redis and says loudly that nothing survives a restart.
func openRedis(redisURL string, logger *slog.Logger) (redis.UniversalClient, redisconn.Kind, func(), error) {
	if redisURL == "" {
		rdb, closeRedis, err := embeddedRedis()
		if err != nil {
			return nil, 0, nil, err
		}
		logger.Warn("REDIS_URL is not set: using an embedded in-memory Redis. " +
			"Pending approvals, queued jobs, cooldowns and the audit log are LOST on restart, " +
			"and replicas cannot share them. Set REDIS_URL for production.")
		return rdb, redisconn.Single, closeRedis, nil
	}
	// redis://, rediss://, redis+sentinel://, redis+cluster://: one
	// function builds the client, for main and the tests (with
	// ContextTimeoutEnabled: a Redis that hangs must not hold a Slack
	// request past its three seconds).
	redisconn.LogTo(logger)
	rdb, kind, err := redisconn.Open(redisURL)
	if err != nil {
		return nil, 0, nil, err // never holds the URL
	}
	logger.Info("redis", "kind", kind.String())
	return rdb, kind, func() { rdb.Close() }, nil
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func fakeBytemark(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake-bytemark", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8081", "address to serve the fake Bytemark API and auth host on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fake := bytemarktest.NewUnstartedServer()
	fake.SetLogLimit(1000) // it may serve for days
	srv := &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 5 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, `fake Bytemark (API and auth host) serving on %s
  API key:  %s
  user:     %s
  password: %s
Try the bot against it:
  BYTEMARK_API_URL=%s BYTEMARK_AUTH_URL=%s BYTEMARK_API_KEY=%s
Or the official client:
  bytemark --endpoint=%s --auth-endpoint=%s --billing-endpoint= --insecure show servers acme
`, base, bytemarktest.APIKey, bytemarktest.Username, bytemarktest.Password,
		base, base, bytemarktest.APIKey, base, base)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func manifest(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	base := fs.String("url", "", "public https URL the bot is served at, e.g. https://bytebot.fly.dev")
	socket := fs.Bool("socket-mode", false, "print the Socket Mode variant (no public URL needed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" && !*socket {
		return errors.New("--url https://HOST is required (or --socket-mode)")
	}
	b, err := slackapp.Manifest(*base, *socket)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

// embeddedRedis starts an in-memory Redis (the default without REDIS_URL,
// and the console's) and its client, built as any other (redisconn).
func embeddedRedis() (redis.UniversalClient, func(), error) {
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, fmt.Errorf("embedded redis: %w", err)
	}
	rdb, _, err := redisconn.Open("redis://" + mr.Addr() + "/0")
	if err != nil {
		mr.Close()
		return nil, nil, err
	}
	return rdb, func() { rdb.Close(); mr.Close() }, nil
}
