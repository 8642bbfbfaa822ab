package reliability

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/redistest"
)

// The scenarios below run the bot process against real Redis topologies
// (internal/redistest): a Sentinel set that fails over, and a Cluster whose
// node restarts and whose slot moves, mid-flow.

// slashOK runs a slash command and reports whether it was answered without
// "temporarily unavailable".
func slashOK(b *botProc, text string) (bool, []byte) {
	code, body := b.slash("reliability-signing-secret", bottest.UserAsker, bottest.ChanOps, text)
	return code == http.StatusOK && !strings.Contains(string(body), "temporarily unavailable"), body
}

// posts counts the chat.postMessage calls with every substring.
func posts(s *slackAPI, substrings ...string) int {
	return len(s.Find("chat.postMessage", substrings...))
}

// writesTo counts the requests to the fake that could change server.
func writesTo(f *fakeAPI, server string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && strings.Contains(r.Path, "/"+server) {
			n++
		}
	}
	return n
}

// Scenario 19.1: the Sentinel master is killed (SIGKILL) mid-flow, with a
// purge pending (one of two approvals given), a second approval in flight
// and a reset job running. After the sentinels promote the replica the bot
// reconnects by itself; the ticket is still pending with its approval (it
// was acknowledged after WAIT 1); the purge runs exactly once; the reset is
// sent and reported once; nothing is reported done that was not; webhooks
// and their cooldown work on the new master.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	set := redistest.StartSentinel(t)
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	const secret = "reliability-signing-secret"
	bot := startBot(t, "bot", botEnv(slack, fake, nil, "rel9:", "REDIS_URL="+set.URL(), "APPROVALS_REQUIRED=2"))
	dump := func() string { return slack.Dump() + "\n--- bot\n" + bot.logText() }
	rdb := redistest.Open(t, set.URL()) // a client as the bot's, to look
	ctx := context.Background()
	ticket := func(id string) map[string]string {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		m, _ := rdb.HGetAll(c, "{rel9}:ticket:"+id).Result()
		return m
	}

	// A purge pending, with one of its two approvals.
	if ok, body := slashOK(bot, "purge web1"); !ok {
		t.Fatalf("purge web1: %s", body)
	}
	c := slack.WaitCard(t, 1)
	if code, _ := bot.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	waitFor(t, 20*time.Second, "the first approval", func() bool {
		return strings.Contains(ticket(c.Ticket)["approvers"], bottest.UserAppr1)
	}, dump)
	// A reset running: its request reached Bytemark, its answer is held.
	fake.holdAnswers(func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/web2/signal")
	})
	if ok, body := slashOK(bot, "reset web2"); !ok {
		t.Fatalf("reset web2: %s", body)
	}
	waitFor(t, 20*time.Second, "the reset to be mid-flight", func() bool { return fake.heldCount() == 1 }, dump)

	// The bot acknowledged the approval after WAIT 1, so the replica has
	// it already; this wait only keeps a machine so loaded that WAIT timed
	// out (the bot counts that, see RELIABILITY.md) from failing the test.
	replica := set.Replica.Client()
	defer replica.Close()
	waitFor(t, 20*time.Second, "the replica to have the first approval", func() bool {
		v, _ := replica.HGet(ctx, "{rel9}:ticket:"+c.Ticket, "approvers").Result()
		return strings.Contains(v, bottest.UserAppr1)
	}, dump)

	// The second approval is in flight when the master dies.
	// (A purge's Approve opens the type-the-name modal; the vote is its
	// submission, whose answer carries a refusal.)
	type answer struct {
		code int
		body []byte
	}
	voted := make(chan answer, 1)
	go func() {
		code, body := bot.click(secret, bottest.UserAppr2, bottest.ChanOps, c, "approve")
		voted <- answer{code, body}
	}()
	killed := time.Now()
	set.Master.Kill()
	set.WaitMaster(t, set.Replica)
	promoted := time.Since(killed)
	fake.holdAnswers(nil)
	fake.openGate()
	inFlight := <-voted
	if inFlight.code != http.StatusOK {
		t.Errorf("the click in flight = %d; want 200 (Slack is answered at once)", inFlight.code)
	}

	// The bot reconnects by itself.
	waitFor(t, 30*time.Second, "the bot to answer commands again", func() bool {
		ok, _ := slashOK(bot, "approvals")
		return ok && bot.get("/readyz") == http.StatusOK
	}, dump)
	recovered := time.Since(killed)

	// Webhooks and their guards work on the new master: an alert reboots
	// db1 once, and its repeat is held by the cooldown.
	const token = "reliability-webhook-token"
	if code, body := bot.hook(token, alertBody("db1", 0, 1)); code != http.StatusOK {
		t.Fatalf("webhook after the failover = %d %s", code, body)
	}
	waitFor(t, 20*time.Second, "the reboot of db1", func() bool { return signals(fake.Server, "db1") == 1 }, dump)
	if code, body := bot.hook(token, alertBody("db1", 1, 1)); code != http.StatusOK {
		t.Fatalf("repeated webhook = %d %s", code, body)
	}

	// The ticket is there, with the acknowledged approval; the vote in
	// flight either counted (the ticket is approved) or was refused with
	// "temporarily unavailable" to the voter, and is made again.
	tk := ticket(c.Ticket)
	switch tk["state"] {
	case "approved":
	case "pending":
		if tk["approvers"] != `["`+bottest.UserAppr1+`"]` {
			t.Errorf("approvers after the failover = %s; want [%s]", tk["approvers"], bottest.UserAppr1)
		}
		// The voter was told the vote did not land: privately (the
		// press) or in the modal's answer (the submission).
		waitFor(t, 10*time.Second, "a 'temporarily unavailable' to the voter in flight", func() bool {
			if strings.Contains(string(inFlight.body), "temporarily unavailable") {
				return true
			}
			for _, e := range slack.Find("chat.postEphemeral", "temporarily unavailable") {
				if e.Form.Get("user") == bottest.UserAppr2 {
					return true
				}
			}
			return false
		}, dump)
		for _, u := range slack.Calls("chat.update") {
			if strings.Contains(u.Content(), "Approved by") {
				t.Errorf("a card said approved, but the ticket is pending after the failover:\n%s", u.Content())
			}
		}
		if code, _ := bot.click(secret, bottest.UserAppr2, bottest.ChanOps, c, "approve"); code != http.StatusOK {
			t.Fatalf("approve again = %d", code)
		}
	default:
		t.Fatalf("ticket after the failover = %v; want pending or approved\n%s", tk, dump())
	}
	slack.WaitPost(t, "web1.default.acme purged")
	slack.WaitPost(t, "web2.default.acme reset")
	waitFor(t, 20*time.Second, "an empty work queue", func() bool {
		p, err := rdb.XPending(ctx, "{rel9}:queue", "executors").Result()
		return err == nil && p.Count == 0
	}, dump)
	if n := bottest.Purges(fake.Server, "web1"); n != 1 {
		t.Errorf("purge calls = %d; want exactly 1\n%s", n, dump())
	}
	if n := posts(slack, "web1.default.acme purged"); n != 1 {
		t.Errorf("'web1.default.acme purged' posts = %d; want 1", n)
	}
	if n := writesTo(fake, "web2"); n != 1 {
		t.Errorf("writes to web2 = %d; want 1 (the reset, once)", n)
	}
	if n := posts(slack, "web2.default.acme reset"); n != 1 {
		t.Errorf("'web2 reset' posts = %d; want 1", n)
	}
	if n := signals(fake.Server, "db1"); n != 1 {
		t.Errorf("reboots of db1 = %d; want 1 (the repeat is held by the cooldown)", n)
	}
	t.Logf("failover: replica promoted %s after the kill; bot answering again after %s; in-flight vote: %s",
		promoted.Round(10*time.Millisecond), recovered.Round(10*time.Millisecond), tk["state"])
}

// Scenario 19.2: the bot on a 3-master Redis Cluster. The approval flow and
// a webhook's guards work; the node holding the bot's keys is killed and
// restarted (append-only file) mid-flow; then the bot's slot is moved to
// another node (ASK while it moves, MOVED after), and go-redis follows. A
// pending purge survives both and runs exactly once; a repeated alert is
// still held by its cooldown.
func TestClusterNodeRestartAndSlotMove(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	const secret, token = "reliability-signing-secret", "reliability-webhook-token"
	bot := startBot(t, "bot", botEnv(slack, fake, nil, "rel10:", "REDIS_URL="+cl.URL()))
	dump := func() string { return slack.Dump() + "\n--- bot\n" + bot.logText() }

	// A webhook reboots web2 once; the repeat is held by the cooldown.
	if code, body := bot.hook(token, alertBody("web2", 0, 1)); code != http.StatusOK {
		t.Fatalf("webhook = %d %s", code, body)
	}
	waitFor(t, 20*time.Second, "the reboot of web2", func() bool { return signals(fake.Server, "web2") == 1 }, dump)

	// A purge pending.
	if ok, body := slashOK(bot, "purge web1"); !ok {
		t.Fatalf("purge web1: %s", body)
	}
	c := slack.WaitCard(t, 1)

	// The node with the bot's keys dies and comes back.
	home := cl.NodeFor(t, "{rel10}:queue")
	home.Kill()
	waitFor(t, 20*time.Second, "a clear answer while the node is down", func() bool {
		_, body := bot.slash(secret, bottest.UserAsker, bottest.ChanOps, "approvals")
		return strings.Contains(string(body), "temporarily unavailable")
	}, dump)
	killed := time.Now()
	home.Start()
	cl.WaitOK(t)
	waitFor(t, 30*time.Second, "the bot to answer after the node restart", func() bool {
		ok, body := slashOK(bot, "approvals")
		return ok && strings.Contains(string(body), c.Ticket)
	}, dump)
	t.Logf("node restart: bot answering again %s after the node was started", time.Since(killed).Round(10*time.Millisecond))

	// The bot's slot moves to another node while the bot works.
	var dst *redistest.Server
	for _, n := range cl.Nodes {
		if n != home {
			dst = n
			break
		}
	}
	// A repeat of the alert arrives while the slot is half moved: its
	// scripts meet ASK (keys already moved) or TRYAGAIN (keys on both
	// nodes), which go-redis follows and retries. It is answered 200, or
	// 503 if the retries ran out, and then Alertmanager sends it again.
	hooked := make(chan int, 1)
	moveSlot(t, home, dst, "{rel10}:queue", func() {
		go func() { code, _ := bot.hook(token, alertBody("web2", 1, 1)); hooked <- code }()
	})
	code := <-hooked
	t.Logf("webhook while the slot moved: %d", code)
	switch code {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		if code, body := bot.hook(token, alertBody("web2", 1, 1)); code != http.StatusOK {
			t.Errorf("webhook after the move = %d %s", code, body)
		}
	default:
		t.Errorf("webhook while the slot moved = %d; want 200 or 503", code)
	}
	if got := cl.NodeFor(t, "{rel10}:queue"); got != dst {
		t.Fatalf("slot still on %s; want %s", got.Addr(), dst.Addr())
	}

	if code, _ := bot.click(secret, bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	slack.WaitPost(t, "web1.default.acme purged")
	if n := bottest.Purges(fake.Server, "web1"); n != 1 {
		t.Errorf("purge calls = %d; want exactly 1\n%s", n, dump())
	}
	if n := signals(fake.Server, "web2"); n != 1 {
		t.Errorf("reboots of web2 = %d; want 1 (the repeat is held by the cooldown)\n%s", n, dump())
	}
	if ok, body := slashOK(bot, "audit web1"); !ok || !strings.Contains(string(body), "purge") {
		t.Errorf("audit web1 after the move: %s", body)
	}
}

// moveSlot moves key's slot from src to dst as redis-cli --cluster reshard
// does (IMPORTING, MIGRATING, MIGRATE each key, NODE), one key at a time,
// calling during() once the first key moved (clients then get ASK).
func moveSlot(t *testing.T, src, dst *redistest.Server, key string, during func()) {
	t.Helper()
	ctx := context.Background()
	s, d := src.Client(), dst.Client()
	defer s.Close()
	defer d.Close()
	slot, err := s.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	srcID, err1 := s.Do(ctx, "cluster", "myid").Text()
	dstID, err2 := d.Do(ctx, "cluster", "myid").Text()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Do(ctx, "cluster", "setslot", slot, "importing", srcID).Err())
	must(s.Do(ctx, "cluster", "setslot", slot, "migrating", dstID).Err())
	moved := 0
	for first := true; ; first = false {
		keys, err := s.ClusterGetKeysInSlot(ctx, int(slot), 1).Result()
		must(err)
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			must(s.Migrate(ctx, "127.0.0.1", strconv.Itoa(dst.Port), k, 0, 5*time.Second).Err())
			moved++
		}
		if first {
			during()
		}
	}
	for _, c := range []*redis.Client{d, s} {
		must(c.Do(ctx, "cluster", "setslot", slot, "node", dstID).Err())
	}
	if moved == 0 {
		t.Fatal("no keys in the bot's slot")
	}
}
