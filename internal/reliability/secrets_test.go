package reliability

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// Distinctive values of every secret the bot is given.
const (
	secSigning  = "SIGNSECRET-7f3a9c1e5b42"
	secBotToken = "xoxb-BOTTOKEN-4d2e8a6c0913"
	secPassword = "PASSWORD-9b1d7e3f5a27"
	secAPIKey   = "APIKEY8a4c2e6f1b3d5"
	secWebhook  = "WEBHOOKTOKEN-2c6f0a8e4d61"
	secRedis    = "REDISPASS-5e9b3d1a7c08"
	secGrafana  = "GRAFANAHMAC-1f5b9d3c7e20"
	secUsername = "relops"
)

// Scenario 8: a full flow run with distinctive secret values; none of them
// (nor the Bytemark session tokens the bot is handed) appears in any log
// line, Slack message, HTTP answer or error, metric, or audit entry (or
// anywhere else in Redis).
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, secBotToken)
	fake := newFakeAPI(t)
	fake.AddUser(secUsername, secPassword)
	fake.AddAPIKey(secAPIKey)
	rds := startRedis(t, secRedis)
	env := botEnv(slack, fake, rds, "rel8:", "BYTEMARK_API_KEY=", "BYTEMARK_USERNAME="+secUsername, "BYTEMARK_PASSWORD="+secPassword,
		"SLACK_SIGNING_SECRET="+secSigning, "WEBHOOK_TOKEN="+secWebhook, "LOG_LEVEL=debug")
	a := startBot(t, "bot-session", env)
	env2 := botEnv(slack, fake, rds, "rel8b:", "BYTEMARK_API_KEY="+secAPIKey, "SLACK_SIGNING_SECRET="+secSigning,
		"WEBHOOK_TOKEN="+secWebhook, "GRAFANA_HMAC_SECRET="+secGrafana, "LOG_LEVEL=debug", "LOG_FORMAT=text")
	b := startBot(t, "bot-apikey", env2)
	dump := func() string { return slack.Dump() + "\n--- a\n" + a.logText() + "\n--- b\n" + b.logText() }

	var answers []string // every HTTP answer the bots gave
	record := func(what string, code int, body []byte) {
		answers = append(answers, fmt.Sprintf("%s %d %s", what, code, body))
	}
	slash := func(bot *botProc, user, text string) {
		code, body := bot.slash(secSigning, user, bottest.ChanOps, text)
		record(text, code, body)
		if code != http.StatusOK {
			t.Errorf("%s = %d %s", text, code, body)
		}
	}

	// Reads, a power action, an error from Bytemark, a usage error.
	slash(a, bottest.UserAsker, "list")
	// A read, with a response_url the stand-in serves: its answer is the
	// asker's alone.
	code, body := do(signedRequest(a.url, secSigning, "/slack/commands", slack.Slash(bottest.UserAsker, bottest.ChanOps, "show web2").Body(), time.Now()))
	record("show web2", code, body)
	slack.WaitResponse(t, "", "web2.default.acme is on")
	fake.FailNext("GET", "/virtual_machines/db1", http.StatusInternalServerError, 1)
	slash(a, bottest.UserAsker, "show db1")
	slash(a, bottest.UserAsker, "disc resize web1 root 1PB")
	slash(a, bottest.UserAsker, "restart nosuchserver")
	// The session expires mid-run: the bot logs in again.
	fake.ExpireSessions()
	slash(a, bottest.UserAsker, "reset web1")
	slack.WaitPost(t, "web1.default.acme reset")
	// A purge, approved.
	slash(a, bottest.UserAsker, "purge web2")
	c := slack.WaitCard(t, 1)
	code, body = a.click(secSigning, bottest.UserAppr1, bottest.ChanOps, c, "approve")
	record("approve", code, body)
	slack.WaitPost(t, "web2.default.acme purged")
	// Refusals: a bad signature, a self-approval, a wrong webhook token.
	code, body = do(signedRequest(a.url, secSigning+"x", "/slack/commands", slashBody(bottest.UserAsker, bottest.ChanOps, "list"), time.Now()))
	record("bad signature", code, body)
	code, body = a.hook("WRONG-"+secWebhook, alertBody("web1", 0, 1))
	record("wrong webhook token", code, body)
	slash(a, bottest.UserAsker, "delete stage1.staging")
	c2 := slack.WaitCard(t, 2)
	code, body = a.click(secSigning, bottest.UserAsker, bottest.ChanOps, c2, "approve")
	record("self-approval", code, body)
	// A webhook reboot.
	code, body = a.hook(secWebhook, alertBody("db1", 0, 1))
	record("alertmanager", code, body)
	slash(a, bottest.UserAsker, "audit")
	slash(a, bottest.UserAsker, "approvals")
	for _, p := range []string{"/metrics", "/readyz", "/healthz"} {
		base := a.url
		if p == "/metrics" {
			base = a.metricsURL()
		}
		resp, err := httpClient.Get(base + p)
		if err == nil {
			var sb strings.Builder
			buf := make([]byte, 32<<10)
			for {
				n, err := resp.Body.Read(buf)
				sb.Write(buf[:n])
				if err != nil {
					break
				}
			}
			resp.Body.Close()
			record(p, resp.StatusCode, []byte(sb.String()))
		}
	}

	// The API-key bot: commands, and a Grafana delivery signed with HMAC.
	slash(b, bottest.UserAsker, "list")
	slash(b, bottest.UserAsker, "restart web1")
	gbody := readFile(t, repoRoot(t)+"/bot/monitor/testdata/grafana.json")
	code, body = do(slacktest.GrafanaRequest(b.url+"/hooks/grafana", secGrafana, gbody, time.Now()))
	record("grafana", code, body)
	req, _ := http.NewRequest(http.MethodPost, b.url+"/hooks/grafana", strings.NewReader(string(gbody)))
	req.Header.Set("X-Grafana-Alerting-Signature", strings.Repeat("ab", 32))
	code, body = do(req)
	record("grafana bad hmac", code, body)
	slack.WaitPost(t, "web1.default.acme restarted")
	code, body = b.slash(secSigning, bottest.UserAsker, bottest.ChanOps, "metrics")
	record("metrics (usage)", code, body)

	// The flow did what it should, through the session renewal.
	waitFor(t, 20*time.Second, "the webhook reboot of db1", func() bool { return signals(fake.Server, "db1") >= 1 }, dump)
	logins := fake.Calls("POST", "/session")
	if logins < 2 {
		t.Errorf("logins = %d; want at least 2 (the session expired mid-run)", logins)
	}
	// Stop both bots gracefully so that shutdown logging is included.
	for _, bot := range []*botProc{a, b} {
		bot.p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-bot.p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop on SIGTERM", bot.name)
		}
	}

	// Every secret, and every session token handed out.
	secrets := map[string]string{
		"SLACK_SIGNING_SECRET": secSigning, "SLACK_BOT_TOKEN": secBotToken, "BYTEMARK_PASSWORD": secPassword,
		"BYTEMARK_API_KEY": secAPIKey, "WEBHOOK_TOKEN": secWebhook, "REDIS_URL password": secRedis,
		"GRAFANA_HMAC_SECRET": secGrafana,
	}
	sessions := map[string]bool{}
	for _, r := range fake.Requests() {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && !strings.HasPrefix(tok, "apikey.") {
			sessions[tok] = true
		}
	}
	if len(sessions) < 2 {
		t.Errorf("session tokens seen = %d; want at least 2", len(sessions))
	}
	i := 0
	for tok := range sessions {
		i++
		secrets[fmt.Sprintf("session token %d", i)] = tok
	}

	check := func(where, s string) {
		for name, v := range secrets {
			if strings.Contains(s, v) {
				t.Errorf("%s leaks %s: %s", where, name, trunc(s, 600))
			}
		}
	}
	for _, bot := range []*botProc{a, b} {
		lines := bot.logLines()
		if len(lines) < 20 {
			t.Errorf("%s logged only %d lines", bot.name, len(lines))
		}
		for n, line := range lines {
			check(fmt.Sprintf("%s log line %d", bot.name, n+1), line)
		}
	}
	for _, c := range slack.Calls("") {
		for k, vs := range c.Form {
			if k == "token" { // how slack-go authenticates chat.* calls to Slack itself
				continue
			}
			check("Slack "+c.Method+" field "+k, strings.Join(vs, "\n"))
		}
	}
	for _, s := range answers {
		check("HTTP answer", s)
	}
	for _, prefix := range []string{"rel8:", "rel8b:"} {
		for key, val := range redisDump(t, rds, prefix) {
			check("Redis key "+key, key+"\n"+val)
		}
	}
	if t.Failed() {
		t.Log(dump())
	}
}

// redisDump returns every key under prefix with its value as text (audit
// stream entries, tickets, jobs, …).
func redisDump(t testing.TB, rds *redisProc, prefix string) map[string]string {
	t.Helper()
	rdb := rds.client()
	defer rdb.Close()
	ctx := t.Context()
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, approvals.KeyPrefix(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		typ, _ := rdb.Type(ctx, key).Result()
		var v any
		switch typ {
		case "string":
			v, _ = rdb.Get(ctx, key).Result()
		case "hash":
			v, _ = rdb.HGetAll(ctx, key).Result()
		case "stream":
			v, _ = rdb.XRange(ctx, key, "-", "+").Result()
		case "zset":
			v, _ = rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		case "list":
			v, _ = rdb.LRange(ctx, key, 0, -1).Result()
		case "set":
			v, _ = rdb.SMembers(ctx, key).Result()
		}
		out[key] = fmt.Sprint(v)
	}
	if err := iter.Err(); err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Errorf("nothing in Redis under %s", prefix)
	}
	return out
}
