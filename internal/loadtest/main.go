// Command loadtest is bytebot's load harness (issue 8). It builds and starts
// the bot with a fake Bytemark (`bytebot fake-bytemark`), a real Redis and a
// Slack Web API stand-in, and drives it over loopback with signed requests
// at fixed arrival rates (open loop: latency is measured from when each
// request was due, so queueing is counted). Beside every run it measures
// the floor (./floor: a bare net/http handler that only verifies the Slack
// signature) at the same rate with the same bodies, and reports each figure
// as a ratio to the floor's.
//
//	go run ./internal/loadtest             # the full run (~6 minutes)
//	go run ./internal/loadtest -quick      # CI smoke run (~1 minute)
//
// See BENCHMARKS.md for the figures and how to read them.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	Duration    time.Duration
	Rates       []float64
	PurgeRate   float64
	ClickRate   float64
	Alert1Rate  float64
	Alert100    []float64
	HelpRates   []float64
	Quick       bool
	Bot         string
	Redis       string
	JSON        string
	Concurrency int
	AutoReboot  string
	LogLevel    string
	Workers     int
	BotEnv      []string // extra KEY=VALUE for the bot
	FloorOnly   bool
	Drain       time.Duration
	KeepLogs    bool
	Only        map[string]bool
	RedisDelay  time.Duration // added to each round trip to Redis (redisproxy.go)
	CountRedis  bool          // count the bot's round trips to Redis
}

// scenarioNames are the values -only takes.
var scenarioNames = []string{"show", "help", "purge", "alert1", "alert100", "approve"}

// runs reports whether scenario is to be run.
func (o options) runs(scenario string) bool { return len(o.Only) == 0 || o.Only[scenario] }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	}
	rep, err := harness(ctx, opts, os.Stderr)
	if rep != nil {
		rep.markdown(os.Stdout)
		if opts.JSON != "" {
			if werr := rep.writeJSON(opts.JSON); werr != nil {
				fmt.Fprintln(os.Stderr, "loadtest: writing JSON:", werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each measured run")
	rates := fs.String("rates", "500,1000,2000,3000,4000,6000,8000", "slash-command rates (req/s) of the sweep, ascending; it stops past the knee (p99 > 50 ms, errors or throughput short)")
	fs.Float64Var(&o.PurgeRate, "purge-rate", 1000, "rate of the /bytemark purge run (req/s)")
	fs.Float64Var(&o.ClickRate, "click-rate", 500, "rate of Approve clicks (clicks/s)")
	fs.Float64Var(&o.Alert1Rate, "alert-rate", 500, "rate of 1-alert Alertmanager deliveries (deliveries/s)")
	helpRates := fs.String("help-rates", "1000,3000,5000,8000", "rates of the /bytemark help sweep (req/s), ascending; it stops past the knee")
	alert100 := fs.String("alert100-rates", "10,25,50", "rates of 100-alert Alertmanager deliveries (deliveries/s), ascending; it stops past the knee")
	fs.BoolVar(&o.Quick, "quick", false, "CI smoke run: 1 s per run, sweeps 500,1000,2000 and 10,50")
	fs.StringVar(&o.Bot, "bot", "", "prebuilt bytebot binary (default: go build it)")
	fs.StringVar(&o.Redis, "redis", "redis://127.0.0.1:6379/0", "Redis URL; keys go under a prefix unique to the run and are deleted at the end")
	fs.StringVar(&o.JSON, "json", "", "also write the raw figures to this file")
	fs.IntVar(&o.Concurrency, "concurrency", 1024, "most requests in flight (requests due beyond it wait in the client, and that wait counts)")
	fs.StringVar(&o.AutoReboot, "auto-reboot", "approve", "AUTO_REBOOT for the bot (approve: alerts open approval cards, nothing reboots)")
	fs.StringVar(&o.LogLevel, "log-level", "warn", "LOG_LEVEL for the bot")
	fs.IntVar(&o.Workers, "workers", 0, "WORKERS (executor workers) for the bot; 0 leaves the bot's default")
	fs.Func("bot-env", "extra `KEY=VALUE` in the bot's environment (repeatable; e.g. GOGC=200 to try a setting)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		o.BotEnv = append(o.BotEnv, v)
		return nil
	})
	fs.BoolVar(&o.FloorOnly, "floor-only", false, "measure the floor alone (the harness's own calibration; no bot)")
	fs.DurationVar(&o.Drain, "drain", 2*time.Minute, "longest wait, after each run, for the bot's executor to finish the queued work")
	fs.BoolVar(&o.KeepLogs, "keep-logs", false, "keep the processes' logs (their directory is printed)")
	fs.DurationVar(&o.RedisDelay, "redis-delay", 0, "put a proxy between the bot and Redis that adds this latency to each round trip (implies -count-redis)")
	fs.BoolVar(&o.CountRedis, "count-redis", false, "put a proxy between the bot and Redis that counts the bot's round trips (it costs some CPU)")
	only := fs.String("only", "", "run only these scenarios (comma-separated: "+strings.Join(scenarioNames, ", ")+"); default all")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Quick {
		o.Duration = time.Second
		if !flagSet(fs, "rates") {
			*rates = "500,1000,2000"
		}
		if !flagSet(fs, "help-rates") {
			*helpRates = "1000,5000"
		}
		if !flagSet(fs, "alert100-rates") {
			*alert100 = "10,50"
		}
		if !flagSet(fs, "drain") {
			o.Drain = 30 * time.Second
		}
	}
	var err error
	if o.Rates, err = parseRates("rates", *rates); err != nil {
		return o, err
	}
	if o.HelpRates, err = parseRates("help-rates", *helpRates); err != nil {
		return o, err
	}
	if o.Alert100, err = parseRates("alert100-rates", *alert100); err != nil {
		return o, err
	}
	if *only != "" {
		o.Only = map[string]bool{}
		for _, name := range strings.Split(*only, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(scenarioNames, name) {
				return o, fmt.Errorf("-only: unknown scenario %q (have %s)", name, strings.Join(scenarioNames, ", "))
			}
			o.Only[name] = true
		}
	}
	for name, r := range map[string]float64{"purge-rate": o.PurgeRate, "click-rate": o.ClickRate, "alert-rate": o.Alert1Rate} {
		if r <= 0 {
			return o, fmt.Errorf("-%s must be positive", name)
		}
	}
	if o.Duration <= 0 || o.Concurrency < 1 {
		return o, errors.New("-duration and -concurrency must be positive")
	}
	return o, nil
}

// parseRates parses an ascending, comma-separated list of positive rates.
func parseRates(name, list string) ([]float64, error) {
	var rates []float64
	for _, s := range strings.Split(list, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-%s: %q is not a positive number", name, s)
		}
		if n := len(rates); n > 0 && r <= rates[n-1] {
			return nil, fmt.Errorf("-%s must be ascending", name)
		}
		rates = append(rates, r)
	}
	return rates, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// harness does the whole run and returns its report (partial when it
// fails halfway).
func harness(ctx context.Context, o options, logw io.Writer) (*report, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "loadtest: "+format+"\n", args...) }
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bytebot-loadtest-")
	if err != nil {
		return nil, err
	}
	if o.KeepLogs {
		logf("logs in %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	rep := newReport(o)

	// Build.
	floorBin := filepath.Join(dir, "floor")
	botBin := o.Bot
	buildErr := make(chan error, 2)
	go func() { buildErr <- goBuild(ctx, root, "./internal/loadtest/floor", floorBin) }()
	if botBin == "" && !o.FloorOnly {
		botBin = filepath.Join(dir, "bytebot")
		logf("building the bot and the floor")
		go func() { buildErr <- goBuild(ctx, root, ".", botBin) }()
	} else {
		buildErr <- nil
	}
	for range 2 {
		if err := <-buildErr; err != nil {
			return nil, err
		}
	}

	secret := randomHex(16)
	h := &run1{o: o, logf: logf, client: newRawClient(10 * time.Second), secret: secret, rep: rep}

	// The floor.
	floorAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	floor, err := startProc("floor", dir, floorBin, []string{"LISTEN_ADDR=" + floorAddr, "SLACK_SIGNING_SECRET=" + secret})
	if err != nil {
		return nil, err
	}
	defer floor.stop(5 * time.Second)
	h.floorURL = "http://" + floorAddr
	if rep.Floor.Ready, err = waitReady(ctx, floor, h.floorURL, t0, 10*time.Second); err != nil {
		return rep, err
	}
	h.floor = floor
	rep.Floor.IdleRSS = readMemory(floor.pid()).RSS

	if !o.FloorOnly {
		stopBot, err := h.startBot(ctx, dir, botBin)
		if stopBot != nil {
			defer stopBot()
		}
		if err != nil {
			return rep, err
		}
	}

	err = h.scenarios(ctx)
	rep.Floor.PeakRSS = readMemory(floor.pid()).Peak
	if h.bot != nil {
		rep.Bot.PeakRSS = readMemory(h.bot.pid()).Peak
		rep.SlackCalls = h.stub.methodCounts()
		rep.Ephemerals = h.stub.ephemeralSamples()
		rep.BotLog = logSummary(h.bot.log, 8)
		if h.bot.exited() {
			err = errors.Join(err, fmt.Errorf("the bot exited during the run: %v\n%s", h.bot.err, h.bot.tail(2000)))
		}
	}
	rep.finish()
	if err == nil {
		err = rep.wiringErrors()
	}
	return rep, err
}

// run1 is the state of one harness run.
type run1 struct {
	o        options
	logf     func(string, ...any)
	client   *rawClient
	secret   string
	rep      *report
	floor    *proc
	floorURL string
	bot      *proc
	botURL   string
	fake     *proc
	redisPID int
	stub     *slackStub
	proxy    *redisProxy // between the bot and Redis, or nil
	webhook  string
	epoch    time.Time // base of alert start times, unique to the run
}
