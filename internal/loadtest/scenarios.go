package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// startBot starts Redis access, the Slack stand-in, the fake Bytemark and
// the bot, measures the bot's start to /readyz and its idle memory, and
// returns what stops them all (and deletes the run's Redis keys).
func (h *run1) startBot(ctx context.Context, dir, bin string) (func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	opt, err := redis.ParseURL(h.o.Redis)
	if err != nil {
		var ue *url.Error // it quotes the URL, password and all
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("-redis: %w", err)
	}
	rdb := redis.NewClient(opt)
	cleanups = append(cleanups, func() { rdb.Close() })
	if err := rdb.Ping(ctx).Err(); err != nil {
		return cleanup, fmt.Errorf("redis at %s does not answer (start one: redis-server --port 6379): %w", opt.Addr, err)
	}
	h.rep.Machine.Redis = redisVersion(ctx, rdb)
	prefix := "load:" + randomHex(6) + ":"
	cleanups = append(cleanups, func() {
		n, err := deleteKeys(context.Background(), rdb, prefix)
		if err != nil {
			h.logf("deleting the run's Redis keys (%s*): %v", prefix, err)
			return
		}
		h.logf("deleted %d Redis keys under %s", n, prefix)
	})

	stub, err := startSlackStub()
	if err != nil {
		return cleanup, err
	}
	cleanups = append(cleanups, stub.Close)
	h.stub = stub

	fake, fakeURL, key, err := startFake(ctx, dir, bin)
	if err != nil {
		return cleanup, err
	}
	h.fake = fake
	if pid, err := rdb.InfoMap(ctx, "server").Result(); err == nil {
		h.redisPID, _ = strconv.Atoi(pid["Server"]["process_id"])
		if !isLoopback(opt.Addr) {
			h.redisPID = 0 // not ours to measure
		}
	}
	cleanups = append(cleanups, func() { fake.stop(5 * time.Second) })
	if h.rep.FakeLatency, err = fakeLatency(ctx, fakeURL, key, 500); err != nil {
		return cleanup, fmt.Errorf("measuring the fake Bytemark's latency: %w", err)
	}
	h.logf("the fake Bytemark's own latency (GET a server, 500 in a row): p50 %s p99 %s ms", ms(h.rep.FakeLatency.P50), ms(h.rep.FakeLatency.P99))

	addr, err := freeAddr()
	if err != nil {
		return cleanup, err
	}
	metricsAddr, err := freeAddr() // not the default :9091, which may be taken
	if err != nil {
		return cleanup, err
	}
	redisURL := h.o.Redis
	if h.o.RedisDelay > 0 || h.o.CountRedis {
		proxy, err := startRedisProxy(opt.Addr, h.o.RedisDelay)
		if err != nil {
			return cleanup, err
		}
		cleanups = append(cleanups, proxy.close)
		h.proxy = proxy
		if redisURL, err = redisURLVia(h.o.Redis, proxy.addr()); err != nil {
			return cleanup, err
		}
		h.logf("the bot reaches Redis through a proxy at %s (added latency per round trip: %s)", proxy.addr(), h.o.RedisDelay)
	}
	h.webhook = randomHex(16)
	h.epoch = time.Now().UTC().Truncate(time.Second)
	env := []string{
		"LISTEN_ADDR=" + addr,
		"METRICS_ADDR=" + metricsAddr,
		"SLACK_SIGNING_SECRET=" + h.secret,
		"SLACK_BOT_TOKEN=xoxb-load",
		"SLACK_API_URL=" + stub.url,
		"SLACK_CHANNEL=" + channelID,
		"BYTEMARK_API_URL=" + fakeURL,
		"BYTEMARK_AUTH_URL=" + fakeURL,
		"BYTEMARK_API_KEY=" + key,
		"BYTEMARK_ACCOUNT=acme",
		"REDIS_URL=" + redisURL,
		"REDIS_PREFIX=" + prefix,
		"APPROVERS=" + approverID,
		"WEBHOOK_TOKEN=" + h.webhook,
		"AUTO_REBOOT=" + h.o.AutoReboot,
		"LOG_LEVEL=" + h.o.LogLevel,
		// Approved purges purge at once rather than being staged: the
		// approval scenario measures the whole of an approval.
		"PURGE_GRACE=0s",
	}
	if h.o.Workers > 0 {
		env = append(env, "WORKERS="+strconv.Itoa(h.o.Workers))
	}
	env = append(env, h.o.BotEnv...)
	h.rep.BotEnv = redactEnv(env)
	t0 := time.Now()
	bot, err := startProc("bytebot", dir, bin, env, "serve")
	if err != nil {
		return cleanup, err
	}
	cleanups = append(cleanups, func() { bot.stop(30 * time.Second) })
	h.botURL = "http://" + addr
	if h.rep.Bot.Ready, err = waitReady(ctx, bot, h.botURL, t0, 10*time.Second); err != nil {
		return cleanup, err
	}
	h.bot = bot
	h.logf("bot (pid %d) ready in %s ms", bot.pid(), ms(h.rep.Bot.Ready))
	// Idle: ready, nothing asked of it yet, a moment to settle.
	time.Sleep(time.Second)
	h.rep.Bot.IdleRSS = readMemory(bot.pid()).RSS
	h.rep.Floor.IdleRSS = readMemory(h.floor.pid()).RSS
	return cleanup, nil
}

// scenarios runs every measured step.
func (h *run1) scenarios(ctx context.Context) error {
	// The slash-command sweep: /bytemark show web1.
	if h.o.runs("show") {
		show := h.slashLoad("show web1", userID)
		for _, rate := range h.o.Rates {
			st, err := h.step(ctx, "show web1", rate, show, 0)
			if err != nil {
				return err
			}
			if h.bot != nil && !st.Bot.withinKnee(st.Rate) {
				h.logf("past the knee at %g/s; the sweep stops", rate)
				break
			}
		}
	}
	// help: parsed, authorized and answered at once (issue 20's other
	// sweep).
	if h.o.runs("help") {
		help := h.slashLoad("help", userID)
		help.Make = checked(help.Make, checkHelp)
		for _, rate := range h.o.HelpRates {
			st, err := h.step(ctx, "help", rate, help, 0)
			if err != nil {
				return err
			}
			if h.bot != nil && !st.Bot.withinKnee(st.Rate) {
				h.logf("past the knee at %g/s; the sweep stops", rate)
				break
			}
		}
	}
	// Purges write a ticket each (the executor reads the server and posts
	// a card).
	if h.o.runs("purge") {
		if _, err := h.step(ctx, "purge web1", h.o.PurgeRate, h.slashLoad("purge web1", userID), 0); err != nil {
			return err
		}
	}
	// Alertmanager deliveries of 1 alert.
	if h.o.runs("alert1") {
		if _, err := h.step(ctx, "alertmanager 1 alert", h.o.Alert1Rate, h.alertLoad(1), 0); err != nil {
			return err
		}
	}
	// Approve clicks. (The approved purges do purge db1 in the fake; the
	// alerts about db1 that follow fall in its cooldown, so this changes
	// nothing they do.)
	if h.o.runs("approve") {
		if err := h.approveStep(ctx); err != nil {
			return err
		}
	}
	// Last, as the run most likely to overload the bot (whose memory then
	// stays high for a while): the sweep of 100-alert deliveries.
	if h.o.runs("alert100") {
		for _, rate := range h.o.Alert100 {
			st, err := h.step(ctx, "alertmanager 100 alerts", rate, h.alertLoad(100), 0)
			if err != nil {
				return err
			}
			if h.bot != nil && !st.Bot.withinKnee(st.Rate) {
				h.logf("past the knee at %g/s; the sweep stops", rate)
				break
			}
		}
	}
	return nil
}

// slashLoad is text typed by many people whose user IDs start with user,
// one request each: the bot does not queue the same change twice for one
// person within a couple of minutes (it answers that it is being done).
// Each carries a response_url of the Slack stand-in's, through which the
// bot answers; its first post there ends the request end to end.
func (h *run1) slashLoad(text, user string) load {
	return load{Name: "slash", Sign: true, Make: func(i int) request {
		u := fmt.Sprintf("%s%07d", user, i)
		answer := ""
		if h.stub != nil {
			answer = h.stub.ResponseURL(u, channelID)
		}
		return request{Path: "/slack/commands", Body: slashBody(u, text, i, answer), ContentType: formType, Check: checkQueued, Answer: answer}
	}}
}

func (h *run1) alertLoad(n int) load {
	// Every step has start times of its own, so that no alert of one step
	// is a duplicate of an alert of another.
	epoch := h.epoch.Add(time.Duration(h.rep.stepCount()) * 24 * time.Hour)
	return load{Name: "alertmanager", Make: func(i int) request {
		return request{Path: "/hooks/alertmanager", Body: alertBody("bytemark_server", n, i, epoch), ContentType: jsonType, Bearer: h.webhook, Check: checkAccepted}
	}}
}

// step measures the floor and then the bot with l at rate, waits for the
// bot to finish the work it queued, and records both.
// n, when positive, is the number of requests (else rate × duration).
func (h *run1) step(ctx context.Context, name string, rate float64, l load, n int) (*stepResult, error) {
	st := &stepResult{Scenario: name, Rate: rate}
	h.rep.Steps = append(h.rep.Steps, st)
	cfg := runConfig{Rate: rate, Duration: h.o.Duration, Concurrency: h.o.Concurrency, Late: 3 * time.Second, Secret: h.secret, N: n}

	// The floor gets the same bodies, all signed, and answers an empty 200.
	fl := load{Name: l.Name, Sign: true, Make: func(i int) request {
		rq := l.Make(i)
		rq.Check, rq.Answer = nil, ""
		return rq
	}}
	cfg.Base = h.floorURL
	w := watchRSS(h.floor.pid())
	cpu := meterCPU(map[string]int{"floor": h.floor.pid(), "harness": os.Getpid()})
	st.Floor = summarize(run(ctx, h.client, cfg, fl))
	st.FloorRSS = w.stop()
	st.FloorCPU = cpu.used()
	h.logf("%-26s %6g/s floor: p50 %s p99 %s p99.9 %s, %d errors (client lag p50 %s p99 %s)", name, rate, ms(st.Floor.P50), ms(st.Floor.P99), ms(st.Floor.P999), st.Floor.Errors, ms(st.Floor.LagP50), ms(st.Floor.LagP99))
	if ctx.Err() != nil || h.bot == nil {
		return st, ctx.Err()
	}

	before := h.stub.methodCounts()
	cfg.Base = h.botURL
	w = watchRSS(h.bot.pid())
	cpu = meterCPU(h.botPIDs())
	trips := h.redisTrips()
	raw := run(ctx, h.client, cfg, l)
	st.Bot = ptr(summarize(raw))
	st.BotCPURun = cpu.used()
	drain, ok := h.stub.quiet(time.Now(), time.Second, h.o.Drain)
	if h.proxy != nil {
		st.RedisTrips = ptr(h.redisTrips() - trips)
	}
	st.EndToEnd = h.endToEnd(raw)
	st.BotRSS = w.stop()
	st.BotCPU = cpu.used()
	st.Drain, st.Drained = drain, ok
	st.SlackCalls = diffCounts(h.stub.methodCounts(), before)
	h.logf("%-26s %6g/s bot:   p50 %s p99 %s p99.9 %s, %d errors%s; drained in %s%s",
		name, rate, ms(st.Bot.P50), ms(st.Bot.P99), ms(st.Bot.P999), st.Bot.Errors, errNote(st.Bot), ms(drain), map[bool]string{true: "", false: " (NOT drained)"}[ok])
	if h.bot.exited() {
		return st, fmt.Errorf("the bot exited: %v\n%s", h.bot.err, h.bot.tail(2000))
	}
	return st, ctx.Err()
}

// approveStep opens tickets (purge db1, asked by requesterID…), collects
// their cards from the Slack stand-in, and then clicks Approve on each once
// as the approver, at the click rate.
func (h *run1) approveStep(ctx context.Context) error {
	want := count(h.o.ClickRate, h.o.Duration)
	if h.bot == nil {
		// No cards to click: the floor gets made-up tickets.
		ts := make([]ticket, want)
		for i := range ts {
			ts[i] = ticket{Ticket: fmt.Sprintf("T%06d", i), BlockID: "approval:" + channelID, Channel: channelID, TS: fmt.Sprintf("1700000000.%06d", i)}
		}
		_, err := h.step(ctx, "approve click", h.o.ClickRate, clickLoad(nil, ts), len(ts))
		return err
	}
	h.stub.startCollecting()
	h.logf("opening %d tickets to approve", want)
	prep := summarize(run(ctx, h.client, runConfig{Base: h.botURL, Rate: 1000, Concurrency: h.o.Concurrency,
		Late: 3 * time.Second, Secret: h.secret, N: want}, h.slashLoad("purge db1", requesterID)))
	if prep.Errors > 0 {
		h.logf("opening tickets: %d of %d failed: %s", prep.Errors, prep.N, errorSummary(prep.ErrorKinds))
	}
	deadline := time.Now().Add(h.o.Drain)
	var ts []ticket
	for {
		ts = h.stub.collected(requesterID)
		if len(ts) >= want || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.stub.quiet(time.Now(), time.Second, h.o.Drain)
	if len(ts) == 0 {
		return errors.New("the bot posted no approval cards for the purges; cannot click Approve")
	}
	if len(ts) < want {
		h.logf("only %d of %d approval cards arrived; clicking those", len(ts), want)
	}
	ts = ts[:min(len(ts), want)]
	h.stub.openedViews() // forget the modals opened so far
	st, err := h.step(ctx, "approve click", h.o.ClickRate, clickLoad(h.stub.API, ts), len(ts))
	if st != nil && st.Bot != nil {
		st.Note = fmt.Sprintf("%d tickets opened (%d cards); ", prep.N, len(ts))
	}
	if err != nil {
		return err
	}
	// Each click opened the type-the-name modal (a purge); the approver
	// types the server's name and submits it: that approves the ticket,
	// and the executor purges (PURGE_GRACE=0s) and updates the card.
	vs := h.stub.openedViews()
	if len(vs) < len(ts) {
		h.logf("only %d of %d clicks opened the type-the-name modal; submitting those", len(vs), len(ts))
	}
	if len(vs) == 0 {
		return errors.New("no click opened the type-the-name modal; cannot approve")
	}
	sub, err := h.step(ctx, "approve submit", h.o.ClickRate, submitLoad(h.stub.API, vs, "db1"), len(vs))
	if sub != nil && sub.Bot != nil {
		sub.Note = fmt.Sprintf("%d modals submitted; ", len(vs))
		h.rep.Approvals = approvalCosts(st, sub, len(vs))
	}
	return err
}

func clickLoad(api *slacktest.API, ts []ticket) load {
	return load{Name: "click", Sign: true, Make: func(i int) request {
		return request{Path: "/slack/interactions", Body: clickBody(api, ts[i], approverID, i), ContentType: formType}
	}}
}

// submitLoad submits each modal of vs with name typed, as the approver.
func submitLoad(api *slacktest.API, vs []slacktest.View, name string) load {
	return load{Name: "submit", Sign: true, Make: func(i int) request {
		return request{Path: "/slack/interactions", Body: submitBody(api, vs[i], approverID, name), ContentType: formType, Check: checkClosed}
	}}
}

// botPIDs are the processes whose CPU time a bot run is charged with.
func (h *run1) botPIDs() map[string]int {
	m := map[string]int{"bytebot": h.bot.pid(), "fake-bytemark": h.fake.pid(), "harness": os.Getpid()}
	if h.redisPID > 0 {
		m["redis"] = h.redisPID
	}
	return m
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func ptr[T any](v T) *T { return &v }

func diffCounts(after, before map[string]int) map[string]int {
	d := map[string]int{}
	for k, v := range after {
		if v-before[k] != 0 {
			d[k] = v - before[k]
		}
	}
	return d
}

func errNote(s *stats) string {
	if s.Errors == 0 {
		return ""
	}
	return " (" + errorSummary(s.ErrorKinds) + ")"
}

// redactEnv hides the secrets of the bot's environment for the report.
func redactEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "SLACK_SIGNING_SECRET", "BYTEMARK_API_KEY", "WEBHOOK_TOKEN", "SLACK_BOT_TOKEN":
			v = "…"
		case "REDIS_PREFIX", "LISTEN_ADDR", "METRICS_ADDR", "SLACK_API_URL", "BYTEMARK_API_URL", "BYTEMARK_AUTH_URL":
			v = "(per run)"
		case "REDIS_URL":
			if u, err := url.Parse(v); err != nil {
				v = "…"
			} else if u.User != nil {
				u.User = url.User("REDACTED") // a password never reaches the report
				v = u.String()
			}
		}
		out = append(out, k+"="+v)
	}
	return out
}

func redisVersion(ctx context.Context, rdb *redis.Client) string {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "unknown"
}

// deleteKeys deletes every key under prefix.
func deleteKeys(ctx context.Context, rdb *redis.Client, prefix string) (int, error) {
	n := 0
	iter := rdb.Scan(ctx, 0, approvals.KeyPrefix(prefix)+"*", 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, batch...).Err()
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return n, err
	}
	return n, flush()
}
