package bot_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/redistest"
)

// TestReadsRunHere (issue 20): a person's read runs in the process that
// received it, not through the queue: with no executor running at all it
// is answered through its response_url, audited, in two Redis round trips
// (start and finish); the same request delivered again runs once.
func TestReadsRunHere(t *testing.T) {
	rdb := redistest.Client(t)
	var mu sync.Mutex
	var sent []string
	counting := false
	redistest.OnCommand(rdb, func(ctx context.Context, c redis.Cmder) {
		mu.Lock()
		defer mu.Unlock()
		// Not the test's own reads, nor a new connection's handshake.
		if counting && ctx.Value(testRead{}) == nil && c.Name() != "hello" && c.Name() != "client" {
			sent = append(sent, c.Name())
		}
	})
	h := newHarness(t, bottest.WithRedis(rdb), bottest.WithoutExecutor())
	// audited waits for n reads audited as done, reading the log itself.
	audited := func(n int) {
		t.Helper()
		ctx := context.WithValue(context.Background(), testRead{}, true)
		h.WaitFor("reads audited", func() bool {
			es, err := h.Store.AuditLog(ctx, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, e := range es {
				if e.Actor == bottest.UserAsker && e.Outcome == "done" {
					done++
				}
			}
			return done >= n
		})
	}

	// The first read loads the scripts; the second is counted.
	_, _, url := h.SlashURL(bottest.UserAsker, bottest.ChanOps, "show web2")
	h.shown(url, "web2.default.acme is on")
	audited(1)

	mu.Lock()
	counting = true
	mu.Unlock()
	sc := h.Slack.Slash(bottest.UserAsker, bottest.ChanOps, "show web1")
	w, ack := h.Send(bottest.Signer.Request("/slack/commands", sc.Body()), "show web1")
	if w.Code != http.StatusOK || !strings.Contains(ack.Text, "Working on `show web1`") {
		t.Fatalf("show answered %d %+v; want the acknowledgement", w.Code, ack)
	}
	h.Slack.Acknowledge(sc.ResponseURL, w.Body.Bytes())
	h.shown(sc.ResponseURL, "web1.default.acme is on")
	audited(2)
	mu.Lock()
	got := slices.Clone(sent)
	counting = false
	mu.Unlock()
	if len(got) != 2 {
		t.Errorf("a read sent %v to Redis; want two round trips (start, finish with its audit entry)", got)
	}

	// The same request again (a retry, a replay): refused, not run.
	w, again := h.Send(bottest.Signer.Request("/slack/commands", sc.Body()), "show web1")
	if w.Code != http.StatusOK || !strings.Contains(again.Text, "reached the bot more than once") {
		t.Errorf("the same request again answered %d %+v; want it refused as a duplicate", w.Code, again)
	}
	// A marker read after it is answered and audited; the duplicate added
	// no answer and no audit entry.
	_, _, marker := h.SlashURL(bottest.UserAsker, bottest.ChanOps, "show web2")
	h.shown(marker, "web2.default.acme is on")
	h.WaitAudit(bottest.UserAsker, "done", 3)
	if n := bottest.Count(h.AuditOutcomes(bottest.UserAsker), "done"); n != 3 {
		t.Errorf("%d reads audited as done; want 3 (the duplicate not run)", n)
	}
	if n := len(h.Slack.Find("response_url", "web1.default.acme is on")); n != 1 {
		t.Errorf("show web1 answered %d times; want once", n)
	}
}

type testRead struct{}
