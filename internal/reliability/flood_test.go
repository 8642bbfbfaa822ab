package reliability

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// Scenario 6: a flood of 10,000 firing alerts for one server within a
// minute (100 Alertmanager deliveries of 100 distinct alerts, 8 at a time)
// produces at most one reboot, and the bot answers slash commands within
// three seconds throughout.
func TestAlertFloodOneReboot(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret, token = "reliability-signing-secret", "reliability-webhook-token"
	bot := startBot(t, "bot", botEnv(slack, fake, rds, "rel6:", "REBOOT_COOLDOWN=15m", "REBOOT_MAX_PER_DAY=3"))
	dump := func() string { return bot.logText() }

	const deliveries, perDelivery, parallel = 100, 100, 8
	stop := make(chan struct{})
	var cmdWG sync.WaitGroup
	var commands, slow atomic.Int64
	var worst atomic.Int64
	cmdWG.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			start := time.Now()
			code, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "show web2")
			took := time.Since(start)
			commands.Add(1)
			if took > time.Duration(worst.Load()) {
				worst.Store(int64(took))
			}
			var r slashReply
			if code != http.StatusOK || json.Unmarshal(body, &r) != nil || took > 3*time.Second {
				slow.Add(1)
				t.Errorf("show web2 during the flood = %d in %s: %s", code, took, body)
			}
		}
	})

	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for range parallel {
		wg.Go(func() {
			for seq := range jobs {
				code, body := bot.hook(token, alertBody("web1", seq, perDelivery))
				if code != http.StatusOK {
					t.Errorf("delivery %d = %d %s", seq, code, body)
					continue
				}
				accepted.Add(1)
			}
		})
	}
	for seq := range deliveries {
		jobs <- seq
	}
	close(jobs)
	wg.Wait()
	flood := time.Since(start)
	close(stop)
	cmdWG.Wait()
	t.Logf("%d alerts in %d deliveries in %s; %d slash commands, slowest %s",
		deliveries*perDelivery, accepted.Load(), flood.Round(time.Millisecond), commands.Load(), time.Duration(worst.Load()).Round(time.Millisecond))
	if flood > time.Minute {
		t.Errorf("the flood took %s; the bot must absorb 10,000 alerts within a minute", flood)
	}
	if commands.Load() == 0 {
		t.Error("no slash command was sent during the flood")
	}

	// The one reboot happens (after the summary, in its thread) and no other.
	waitFor(t, 40*time.Second, "the reboot of web1", func() bool { return signals(fake.Server, "web1") >= 1 }, dump)
	slack.WaitPost(t, "web1.default.acme rebooted by reset")
	rdb := rds.client()
	defer rdb.Close()
	waitFor(t, 10*time.Second, "an empty work queue and no reboot scheduled", func() bool {
		p, err := rdb.XPending(t.Context(), "{rel6}:queue", "executors").Result()
		n, err2 := rdb.ZCard(t.Context(), "{rel6}:sched").Result()
		return err == nil && err2 == nil && p.Count == 0 && n == 0
	}, dump)
	if n := signals(fake.Server, "web1"); n != 1 {
		t.Errorf("reboots of web1 = %d; want at most (and here exactly) 1", n)
	}
	if n := bottest.Writes(fake.Server); n != 1 {
		t.Errorf("Bytemark writes = %d; want 1 (the reboot)", n)
	}
}
