package bot_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/redistest"
)

// TestApprovalRoundTrips (issue 20) counts the Redis commands of an
// approved purge, from the click on Approve to the job's end: the click
// (which opens the type-the-name modal) reads the ticket once, and the
// submitted modal reads it once more and votes; with the executor's run,
// twelve in all (it was fifteen: the ticket was read again for its
// approvers and for each check). The workers' and the sweeper's polling
// is not counted.
func TestApprovalRoundTrips(t *testing.T) {
	rdb := redistest.Client(t)
	var mu sync.Mutex
	var sent []string
	on := false
	polling := []string{"xreadgroup", "xautoclaim", "zrangebyscore", "hello", "client", "xrevrange"}
	redistest.OnCommand(rdb, func(ctx context.Context, c redis.Cmder) {
		mu.Lock()
		defer mu.Unlock()
		if on && !slices.Contains(polling, c.Name()) {
			sent = append(sent, c.Name())
		}
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		s := sent
		sent = nil
		return s
	}
	h := newHarness(t, bottest.WithRedis(rdb))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	c := h.WaitCard(1)
	h.WaitAudit(bottest.UserAsker, "asked", 1) // the asking job has finished
	mu.Lock()
	on = true
	mu.Unlock()
	_, k := h.Press(bottest.UserAppr1, bottest.ChanOps, c, slackui.ActionApprove)
	if got := take(); !slices.Equal(got, []string{"hgetall"}) {
		t.Errorf("the click sent %v; want one read of the ticket", got)
	}
	v, ok := h.Slack.ViewOpenedBy(k.TriggerID)
	if !ok {
		t.Fatal("the click opened no modal")
	}
	h.Submit(bottest.UserAppr1, v, "web1")
	h.WaitAudit(bottest.UserAsker, "done", 1)
	got := take()
	if len(got) > 11 || bottest.Count(got, "evalsha") < 2 {
		t.Errorf("the submitted modal and the job sent %d commands %v; want at most 11 (12 with the click)", len(got), got)
	}
}
