package reliability

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// dribble stalls a webhook delivery to path at bot b's front door
// (bottest.Dribble).
func dribble(t *testing.T, b *botProc, path string, hdr ...string) net.Conn {
	t.Helper()
	return bottest.Dribble(t, strings.TrimPrefix(b.url, "http://"), path, hdr...)
}

// Scenario 13.6: slow unauthenticated webhook connections. 40 connections
// send a well-formed but bogus Grafana signature with a fresh timestamp,
// and 10 send no credentials at all; each sends a few bytes of a 100 kB
// body and stalls. Meanwhile real Alertmanager deliveries must be
// accepted and acted on; the stalled ones are cut off by the body
// deadline (408), the ones without credentials refused at once (401).
func TestSlowUnauthenticatedWebhooks(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const token = "reliability-webhook-token"
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "rel10:", "GRAFANA_HMAC_SECRET=reliability-grafana-hmac"))
	dump := func() string { return bot.logText() }

	now := strconv.FormatInt(time.Now().Unix(), 10)
	var bogus, anon []net.Conn
	for range 40 {
		bogus = append(bogus, dribble(t, bot, "/hooks/grafana",
			"X-Grafana-Alerting-Signature: "+strings.Repeat("ab", 32), "X-Grafana-Alerting-Timestamp: "+now))
	}
	for range 10 {
		anon = append(anon, dribble(t, bot, "/hooks/alertmanager"))
	}
	start := time.Now()
	for i, server := range []string{"web1", "web2"} {
		code, body := bot.hook(token, alertBody(server, i, 1))
		if code != http.StatusOK {
			t.Fatalf("Alertmanager delivery for %s while 40 unverified connections stall = %d %s; want 200", server, code, body)
		}
	}
	took := time.Since(start)
	waitFor(t, 30*time.Second, "the reboots of web1 and web2", func() bool {
		return signals(fake.Server, "web1") == 1 && signals(fake.Server, "web2") == 1
	}, dump)

	// Those without credentials were refused without waiting for their
	// bodies.
	for i, c := range anon {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d without credentials: no answer: %v\n%s", i, err, dump())
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("connection %d without credentials = %d; want 401", i, resp.StatusCode)
		}
	}

	// The stalled bodies are cut off by the deadline.
	var timedOut atomic.Int64
	var wg sync.WaitGroup
	for i, c := range bogus {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Errorf("stalled connection %d: no answer: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("stalled connection %d = %d; want 408", i, resp.StatusCode)
				return
			}
			timedOut.Add(1)
		})
	}
	wg.Wait()
	t.Logf("2 deliveries accepted in %s beside 40 stalled connections; %d of them cut off with 408", took.Round(time.Millisecond), timedOut.Load())
}

// Scenario 13.9: an alert flood against the audit log. `purge web2` is
// approved and done; then 10,000 distinct firing alerts for web1 arrive
// (10 Alertmanager deliveries of 1,000), and each delivery is sent again
// (10,000 repeats). `/bytemark audit web2` still shows the purge, the
// repeats left no audit entries, and the decisions are in their own stream.
func TestAlertFloodKeepsAudit(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret, token = "reliability-signing-secret", "reliability-webhook-token"
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "{rel11}:", "REBOOT_COOLDOWN=15m"))
	dump := func() string { return bot.logText() }

	if code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web2"); code != http.StatusOK {
		t.Fatalf("purge web2 = %d %s", code, body)
	}
	c := slack.WaitCard(t, 1)
	if code, _ := bot.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	slack.WaitPost(t, "purged")

	const deliveries, perDelivery = 10, 1000
	start := time.Now()
	for round := range 2 {
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for seq := range jobs {
					if code, body := bot.hook(token, alertBody("web1", seq, perDelivery)); code != http.StatusOK {
						t.Errorf("round %d, delivery %d = %d %s", round, seq, code, trunc(string(body), 200))
					}
				}
			})
		}
		for seq := range deliveries {
			jobs <- seq
		}
		close(jobs)
		wg.Wait()
	}
	flood := time.Since(start)
	rdb := rds.client()
	defer rdb.Close()
	// The decisions are written after the answers: wait for all of them.
	waitFor(t, 60*time.Second, "the flood's decisions in the audit log", func() bool {
		n, err := rdb.XLen(t.Context(), "{rel11}:audit:webhooks").Result()
		return err == nil && n >= deliveries*perDelivery
	}, dump)

	code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "audit web2")
	var r slashReply
	if code != http.StatusOK || json.Unmarshal(body, &r) != nil {
		t.Fatalf("audit web2 = %d %s", code, body)
	}
	for _, want := range []string{"purge web2", "*requested*", "*approved*", "*done*"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("audit web2 after the flood lacks %q:\n%s", want, r.Text)
		}
	}
	entries, err := rdb.XRange(t.Context(), "{rel11}:audit:webhooks", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	deduped := 0
	for _, e := range entries {
		if e.Values["outcome"] == "deduped" {
			deduped++
		}
	}
	if deduped != 0 {
		t.Errorf("%d deduped entries in the audit log; want none (repeats are counted in metrics)", deduped)
	}
	actions, _ := rdb.XLen(t.Context(), "{rel11}:audit").Result()
	t.Logf("%d alerts (%d distinct) in %s; audit: %d decisions, %d approvals and executions",
		2*deliveries*perDelivery, deliveries*perDelivery, flood.Round(time.Millisecond), len(entries), actions)
	if n := signals(fake.Server, "web1"); n != 1 {
		t.Errorf("reboots of web1 = %d; want 1", n)
	}
}
