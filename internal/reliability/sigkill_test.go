package reliability

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
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
// SIGKILL mid-job, and another bot process (the restart) takes the job
// over. It must finish or report the job exactly once, and never send the
// purge twice. Two moments of death:
//
//   - after the purge reached Bytemark, before its answer came back: the
//     restart must report it done ("already purged"), not purge again;
//   - before the purge was sent, while the dying worker held the server's
//     lock and was reading the server: the restart may purge (once) or
//     report, but within the lease, not after the dead worker's lock ends.
func TestSigkillMidPurge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		hold func(r *http.Request) bool // the answer the worker dies waiting for
		want string                     // in the final report
	}{
		{"after the purge was sent", func(r *http.Request) bool {
			return r.Method == http.MethodDelete && r.URL.Query().Get("purge") == "true"
		}, "already purged"},
		{"before the purge was sent", func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/web2")
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sigkillMidPurge(t, tc.hold, tc.want)
		})
	}
}

func sigkillMidPurge(t *testing.T, hold func(r *http.Request) bool, want string) {
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	env := botEnv(slack, fake, rds, "rel2:")
	a := startBot(t, "bot-a", env)
	dump := func() string { return slack.Dump() + "\n--- bot-a\n" + a.logText() }

	if code, body := a.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web2"); code != http.StatusOK {
		t.Fatalf("purge web2 = %d %s", code, body)
	}
	c := slack.WaitCard(t, 1)
	// The request acts at Bytemark, but its answer is held: the job is
	// mid-flight when the worker dies.
	fake.holdAnswers(hold)
	if code, _ := a.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	waitFor(t, 20*time.Second, "the job to be mid-flight", func() bool { return fake.heldCount() == 1 }, dump)
	a.p.kill()
	fake.holdAnswers(nil)
	fake.openGate()
	sentBefore := bottest.Purges(fake.Server, "web2")

	// The restart: a new process on the same Redis. The dead worker's lease
	// is made to run out now rather than in two minutes.
	rdb := rds.client()
	defer rdb.Close()
	if n := expireLeases(t, rdb, "{rel2}:queue"); n != 1 {
		t.Fatalf("deliveries held by the dead worker = %d; want 1", n)
	}
	b := startBot(t, "bot-b", env)
	dump = func() string {
		return slack.Dump() + "\n--- bot-a\n" + a.logText() + "\n--- bot-b\n" + b.logText()
	}

	// Finished or reported, in the card's thread, within 30 seconds.
	final := func() []slackCall {
		var out []slackCall
		for _, m := range slack.Calls("chat.postMessage") {
			if m.Form.Get("thread_ts") == c.TS && strings.Contains(m.Content(), "web2") {
				out = append(out, m)
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "the reclaimed job to be reported", func() bool { return len(final()) > 0 }, dump)
	waitFor(t, 10*time.Second, "an empty work queue", func() bool {
		p, err := rdb.XPending(t.Context(), "{rel2}:queue", "executors").Result()
		return err == nil && p.Count == 0
	}, dump)
	if n := len(final()); n != 1 {
		t.Errorf("reports in the card's thread = %d; want exactly 1\n%s", n, dump())
	}
	n := bottest.Purges(fake.Server, "web2")
	if n > 1 {
		t.Errorf("purge calls = %d; want at most 1 (a destructive action is never sent twice)\n%s", n, dump())
	}
	t.Logf("purge sent before the kill: %d; in all: %d; report: %s", sentBefore, n, final()[0].Form.Get("text"))
	if msg := final()[0].Content(); want != "" && !strings.Contains(msg, want) {
		t.Errorf("report = %q; want it to say %q", msg, want)
	}
}
