package reliability

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// Issue 17: staged purges (PURGE_GRACE) across real processes.

// undeletes counts the undeletes (PUT {"deleted":false}) the fake got for
// server (by name, or by its ID as the bot sends them).
func undeletes(f *fakeAPI, server string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == http.MethodPut && (strings.HasSuffix(r.Path, "/"+server) || strings.HasSuffix(r.Path, "/"+bottest.SeedIDs[server])) &&
			strings.Contains(r.Body, `"deleted":false`) {
			n++
		}
	}
	return n
}

// idReads counts the reads of web2 by its ID (1002) in b's log.
func idReads(b *botProc) int {
	n := 0
	for _, l := range b.logLines() {
		if strings.Contains(l, `"msg":"bytemark: request"`) && strings.Contains(l, `"method":"GET"`) &&
			strings.Contains(l, "/virtual_machines/"+bottest.SeedIDs["web2"]) {
			n++
		}
	}
	return n
}

// stageWeb2 asks bot a for `purge web2`, approves it through bot b and
// waits for the countdown; it returns the card (its Undo button).
func stageWeb2(t *testing.T, slack *slackAPI, a, b *botProc) card {
	t.Helper()
	const secret = "reliability-signing-secret"
	if code, body := a.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web2"); code != http.StatusOK {
		t.Fatalf("purge web2 = %d %s", code, body)
	}
	c := slack.WaitCard(t, 1)
	if code, _ := b.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	return slack.WaitButton(t, "undo", "will be purged at")
}

// Scenario 17.1: two replicas share Redis; a staged purge falls due and
// the replica that took it is SIGKILLed with the purge sent (its answer
// held). The other replica takes the job over when its lease runs out:
// the server is purged once and reported once.
func TestStagedPurgeDueReplicaKilled(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	rdb := rds.client()
	defer rdb.Close()
	const queue = "{rel171}:queue"
	env := func() map[string]string {
		return botEnv(slack, fake, rds, "rel171:", "PURGE_GRACE=3s", "JOB_LEASE=2s")
	}
	a := startBot(t, "bot-a", env())
	b := startBot(t, "bot-b", env())
	dump := func() string { return slack.Dump() + "\n--- bot-a\n" + a.logText() + "\n--- bot-b\n" + b.logText() }

	// The purge, when it falls due, acts at Bytemark but its answer is held.
	fake.holdAnswers(func(r *http.Request) bool {
		return r.Method == http.MethodDelete && r.URL.Query().Get("purge") == "true"
	})
	c := stageWeb2(t, slack, a, b)
	if srv, ok := fake.Server.Server("acme", "default", "web2"); !ok || !srv.Deleted {
		t.Fatalf("web2 during the grace = %+v, %v; want soft-deleted\n%s", srv, ok, dump())
	}
	// Which replica took the due purge: the one that read web2 by its ID
	// again (the purge's check that the ID still names it), as its log
	// shows, since the countdown.
	readsA, readsB := idReads(a), idReads(b)
	waitFor(t, 20*time.Second, "the due purge to be mid-flight", func() bool { return fake.heldCount() == 1 }, dump)
	holder, survivor := a, b
	switch {
	case idReads(a) > readsA && idReads(b) == readsB:
	case idReads(b) > readsB && idReads(a) == readsA:
		holder, survivor = b, a
	default:
		t.Fatalf("can't tell which replica took the due purge (reads of web2 by ID: a %d->%d, b %d->%d)\n%s",
			readsA, idReads(a), readsB, idReads(b), dump())
	}
	holder.p.kill()
	fake.holdAnswers(nil)
	fake.openGate()
	t.Logf("%s took the due purge and was killed; %s is left", holder.name, survivor.name)

	reports := func() []slackCall {
		var out []slackCall
		for _, m := range slack.Calls("chat.postMessage") {
			if m.Form.Get("thread_ts") == c.TS && (m.Has("already purged") || m.Has("purged at the end of its grace")) {
				out = append(out, m)
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "the survivor to report the purge", func() bool { return len(reports()) > 0 }, dump)
	waitFor(t, 10*time.Second, "an empty work queue", func() bool {
		p, err := rdb.XPending(t.Context(), queue, "executors").Result()
		return err == nil && p.Count == 0
	}, dump)
	slack.Wait(t, "the card to show the purge", func() bool {
		for _, u := range slack.Find("chat.update", "Purged at") {
			if u.Form.Get("ts") == c.TS {
				return true
			}
		}
		return false
	})
	if n := bottest.Purges(fake.Server, "web2"); n != 1 {
		t.Errorf("purge calls = %d; want exactly 1\n%s", n, dump())
	}
	if n := len(reports()); n != 1 {
		t.Errorf("purge reports in the card's thread = %d; want 1\n%s", n, dump())
	}
	if _, ok := fake.Server.Server("acme", "default", "web2"); ok {
		t.Errorf("web2 still exists")
	}
}

// Scenario 17.2: Undo pressed by two people at once, through two
// replicas, many times: one undelete.
func TestUndoPressedAtOnceOneUndelete(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	a := startBot(t, "bot-a", botEnv(slack, fake, rds, "rel172:", "PURGE_GRACE=1h"))
	b := startBot(t, "bot-b", botEnv(slack, fake, rds, "rel172:", "PURGE_GRACE=1h"))
	dump := func() string { return slack.Dump() + "\n--- bot-a\n" + a.logText() + "\n--- bot-b\n" + b.logText() }
	c := stageWeb2(t, slack, a, b)

	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		bot, user := a, bottest.UserAsker
		if i%2 == 1 {
			bot, user = b, bottest.UserAppr1
		}
		wg.Go(func() { codes[i], _ = bot.click(secret, user, bottest.ChanOps, c, "undo") })
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("press %d = %d; want 200", i, code)
		}
	}
	slack.WaitPost(t, "Undone by", "is undeleted")
	slack.Wait(t, "the other presses to be told", func() bool { return len(slack.Find("chat.postEphemeral", "Already undone by")) == 19 })
	if n := undeletes(fake, "web2"); n != 1 {
		t.Errorf("undeletes = %d; want exactly 1\n%s", n, dump())
	}
	if n := bottest.Purges(fake.Server, "web2"); n != 0 {
		t.Errorf("purge calls = %d; want 0", n)
	}
	if srv, ok := fake.Server.Server("acme", "default", "web2"); !ok || srv.Deleted {
		t.Errorf("web2 = %+v, %v; want it undeleted", srv, ok)
	}
}

// Scenario 17.3: Undo after the purge ran: a clear "too late", and no
// Bytemark call.
func TestUndoAfterPurgeTooLate(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	a := startBot(t, "bot-a", botEnv(slack, fake, rds, "rel173:", "PURGE_GRACE=1s"))
	c := stageWeb2(t, slack, a, a)
	slack.WaitPost(t, "purged at the end of its grace")
	before := len(fake.Requests())
	if code, _ := a.click(secret, bottest.UserAsker, bottest.ChanOps, c, "undo"); code != http.StatusOK {
		t.Fatalf("undo = %d", code)
	}
	slack.WaitEphemeral(t, bottest.UserAsker, "Too late", "was purged", "Nothing was done")
	// The answer comes once the press is decided; a refused press starts
	// nothing after it.
	for _, r := range fake.Requests()[before:] {
		if strings.Contains(r.Path, "web2") || strings.Contains(r.Path, bottest.SeedIDs["web2"]) {
			t.Errorf("a Bytemark call about web2 after the Undo that was too late: %s %s?%s", r.Method, r.Path, r.Query)
		}
	}
	if n := undeletes(fake, "web2"); n != 0 {
		t.Errorf("undeletes = %d; want 0", n)
	}
}
