package reliability

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// Scenario 3: two bot processes share one Redis; 100 Approve clicks spread
// over both give exactly one purge call.
func TestTwoReplicasHundredApprovesOnePurge(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	a := startBot(t, "bot-a", botEnv(slack, fake, rds, "rel3:"))
	b := startBot(t, "bot-b", botEnv(slack, fake, rds, "rel3:"))
	dump := func() string { return slack.Dump() + "\n--- bot-a\n" + a.logText() + "\n--- bot-b\n" + b.logText() }

	code, body := a.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web2")
	if code != http.StatusOK || !strings.Contains(string(body), "needs approval") {
		t.Fatalf("purge web2 = %d %s", code, body)
	}
	c := slack.WaitCard(t, 1)

	// 100 clicks at once, alternating replicas and approvers.
	var wg sync.WaitGroup
	codes := make([]int, 100)
	for i := range 100 {
		bot := a
		if i%2 == 1 {
			bot = b
		}
		user := bottest.UserAppr1
		if i%4 >= 2 {
			user = bottest.UserAppr2
		}
		wg.Go(func() { codes[i], _ = bot.click(secret, user, bottest.ChanOps, c, "approve") })
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("click %d = %d; want 200", i, code)
		}
	}
	slack.WaitPost(t, "purged")
	// Let any straggler run: the queue must be empty, with nothing pending
	// on any consumer, and a second purge would have been posted by now.
	rdb := rds.client()
	defer rdb.Close()
	waitFor(t, 10*time.Second, "an empty work queue", func() bool {
		p, err := rdb.XPending(t.Context(), "{rel3}:queue", "executors").Result()
		return err == nil && p.Count == 0
	}, dump)
	if n := bottest.Purges(fake.Server, "web2"); n != 1 {
		t.Fatalf("purge calls = %d; want exactly 1\n%s", n, dump())
	}
	if n := len(slack.Find("chat.postMessage", "purged")); n != 1 {
		t.Errorf("purge results posted = %d; want 1\n%s", n, slack.Dump())
	}
	// The ticket records the decision once; everyone else was told why.
	var audit []map[string]any
	entries, err := rdb.XRange(t.Context(), "{rel3}:audit", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		m := map[string]any{}
		for k, v := range e.Values {
			m[k] = v
		}
		audit = append(audit, m)
	}
	done := 0
	for _, e := range audit {
		if s, _ := e["action"].(string); strings.HasPrefix(s, "purge") {
			if o, _ := e["outcome"].(string); o == "done" {
				done++
			}
		}
	}
	if done != 1 {
		js, _ := json.MarshalIndent(audit, "", " ")
		t.Errorf("audit entries of a done purge = %d; want 1\n%s", done, js)
	}
}
