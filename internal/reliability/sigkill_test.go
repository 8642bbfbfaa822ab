package reliability

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// expireLeases makes every delivery of the work queue look idle for longer
// than the store's lease, as if the lease (approvals.DefaultLease, 2m, not
// settable from the environment) had run out: the next Claim of any live
// worker reclaims them. It stands in for waiting two minutes.
func expireLeases(t testing.TB, rdb *redis.Client, queue string) int {
	t.Helper()
	ctx := t.Context()
	pending, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: queue, Group: "executors", Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	for _, p := range pending {
		err := rdb.Do(ctx, "XCLAIM", queue, "executors", p.Consumer, 0, p.ID, "IDLE", (time.Hour).Milliseconds(), "JUSTID").Err()
		if err != nil {
			t.Fatalf("XCLAIM: %v", err)
		}
	}
	return len(pending)
}

// Scenario 2: the bot process running an approved purge is killed with
// SIGKILL after the purge reached Bytemark but before its answer came back.
// Another bot process (the restart) must finish or report the job exactly
// once, and never send the purge again.
func TestSigkillMidPurge(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	env := botEnv(slack, fake, rds, "rel2:")
	a := startBot(t, "bot-a", env)
	dump := func() string { return slack.dump() + "\n--- bot-a\n" + a.logText() }

	// The purge acts at Bytemark, but its answer is held: the job is
	// mid-flight when the worker dies.
	fake.holdAnswers(func(r *http.Request) bool {
		return r.Method == http.MethodDelete && r.URL.Query().Get("purge") == "true"
	})
	if code, body := a.slash(secret, userAsker, chanOps, "purge web2"); code != http.StatusOK {
		t.Fatalf("purge web2 = %d %s", code, body)
	}
	c := slack.waitCard(t, 1)
	if code, _ := a.click(secret, userAppr1, chanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	waitFor(t, 20*time.Second, "the purge to reach Bytemark", func() bool { return fake.heldCount() == 1 }, dump)
	a.p.kill()
	fake.openGate()

	// The restart: a new process on the same Redis. The dead worker's lease
	// is made to run out now rather than in two minutes.
	rdb := rds.client()
	defer rdb.Close()
	if n := expireLeases(t, rdb, "rel2:queue"); n != 1 {
		t.Fatalf("deliveries held by the dead worker = %d; want 1", n)
	}
	b := startBot(t, "bot-b", env)
	dump = func() string {
		return slack.dump() + "\n--- bot-a\n" + a.logText() + "\n--- bot-b\n" + b.logText()
	}

	// Finished or reported, in the card's thread, within 30 seconds.
	final := func() []slackCall {
		var out []slackCall
		for _, m := range slack.Calls("chat.postMessage") {
			if m.Form.Get("thread_ts") == c.ts && strings.Contains(m.content(), "web2") {
				out = append(out, m)
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "the reclaimed job to be reported", func() bool { return len(final()) > 0 }, dump)
	waitFor(t, 10*time.Second, "an empty work queue", func() bool {
		p, err := rdb.XPending(t.Context(), "rel2:queue", "executors").Result()
		return err == nil && p.Count == 0
	}, dump)
	if n := len(final()); n != 1 {
		t.Errorf("reports in the card's thread = %d; want exactly 1\n%s", n, dump())
	}
	if n := purges(fake.Server, "web2"); n != 1 {
		t.Errorf("purge calls = %d; want exactly 1 (a destructive action is never sent twice)\n%s", n, dump())
	}
	msg := final()[0].content()
	if !strings.Contains(msg, "already purged") {
		t.Errorf("report = %q; want it to say web2 is already purged", msg)
	}
}
