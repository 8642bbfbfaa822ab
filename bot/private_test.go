package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/logtest"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// redisRecorder keeps the text of every command
// sent to Redis.
type redisRecorder struct {
	mu   sync.Mutex
	cmds []string
}

func (r *redisRecorder) note(_ context.Context, cmd redis.Cmder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, fmt.Sprint(cmd.Args()...))
}

func (r *redisRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.cmds, "\n")
}

// privateHarness is the harness with its log captured (all of it: the
// bot's, its Slack poster's and its Bytemark client's) and every command
// it sends to Redis recorded. Its poster is main's: private answers reach
// the asker through the command's response_url.
func privateHarness(t *testing.T, opts ...bottest.Option) (*harness, *logtest.Buffer, *redisRecorder) {
	t.Helper()
	rdb := redistest.Client(t)
	rec := &redisRecorder{}
	redistest.OnCommand(rdb, rec.note)
	logs := &logtest.Buffer{}
	h := newHarness(t, append(opts, bottest.WithRedis(rdb), bottest.WithLog(logs))...)
	return h, logs, rec
}

// privately reports whether c is a message only the requester sees: a
// post to the response_url of their command (ephemeral), or an ephemeral
// message to them in the channel.
func privately(c slacktest.Call) bool {
	switch c.Method {
	case "response_url":
		return c.Form.Get("user") == bottest.UserAsker && c.Form.Get("response_type") != "in_channel"
	case "chat.postEphemeral":
		return c.Form.Get("user") == bottest.UserAsker
	}
	return false
}

// rootPassword returns the password in the one private message that the
// requester got, and checks that it came through their command's
// response_url (as main's poster sends it), privately, in the channel.
func rootPassword(t *testing.T, h *harness, server string) string {
	t.Helper()
	var found []slacktest.Call
	h.WaitFor("the private root password of "+server, func() bool {
		found = append(h.Slack.Find("response_url", "Root password of `"+server+"`"),
			h.Slack.Find("chat.postEphemeral", "Root password of `"+server+"`")...)
		return len(found) > 0
	})
	if len(found) != 1 {
		t.Fatalf("%d private messages with the root password of %s; want 1", len(found), server)
	}
	c := found[0]
	if c.Method != "response_url" || !privately(c) || c.Form.Get("channel") != bottest.ChanOps {
		t.Errorf("root password sent by %s to user %q in %q (%s); want privately to %q in %q",
			c.Method, c.Form.Get("user"), c.Form.Get("channel"), c.Form.Get("response_type"), bottest.UserAsker, bottest.ChanOps)
	}
	_, rest, _ := strings.Cut(c.Form.Get("text"), "`: `")
	pw, _, _ := strings.Cut(rest, "`")
	if len(pw) < 16 {
		t.Fatalf("private message %q has no root password", c.Form.Get("text"))
	}
	return pw
}

// assertOnlyPrivate checks that pw is in the one private message to the
// requester and nowhere else: no other Slack call, no log line, no
// command sent to Redis and no key or value under test prefixes.
func assertOnlyPrivate(t *testing.T, h *harness, logs *logtest.Buffer, rec *redisRecorder, pw string) {
	t.Helper()
	n := 0
	for _, c := range h.Slack.Calls("") {
		all := c.Form.Encode() + c.BlocksJSON() + c.Raw
		if !strings.Contains(all, pw) {
			continue
		}
		n++
		if !privately(c) {
			t.Errorf("the root password is in Slack call %s to channel %q user %q", c.Method, c.Form.Get("channel"), c.Form.Get("user"))
		}
	}
	if n != 1 {
		t.Errorf("the root password is in %d Slack calls; want 1 (the private message)", n)
	}
	if strings.Contains(logs.String(), pw) {
		t.Errorf("the root password is in the log")
	}
	if sent := rec.all(); !strings.Contains(sent, "evalsha") {
		t.Errorf("no script call recorded: the Redis recorder saw nothing")
	} else if strings.Contains(sent, pw) {
		t.Errorf("the root password was sent to Redis")
	}
	// Every key and value under test prefixes (this test's among them).
	ctx := context.Background()
	rdb := redistest.Client(t)
	iter := rdb.Scan(ctx, 0, "test:*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if strings.Contains(key, pw) {
			t.Errorf("Redis key %q holds the root password", key)
		}
		var v any
		switch rdb.Type(ctx, key).Val() {
		case "string":
			v = rdb.Get(ctx, key).Val()
		case "hash":
			v = rdb.HGetAll(ctx, key).Val()
		case "list":
			v = rdb.LRange(ctx, key, 0, -1).Val()
		case "set":
			v = rdb.SMembers(ctx, key).Val()
		case "zset":
			v = rdb.ZRangeWithScores(ctx, key, 0, -1).Val()
		case "stream":
			v = rdb.XRange(ctx, key, "-", "+").Val()
		}
		if strings.Contains(fmt.Sprint(v), pw) {
			t.Errorf("Redis key %q's value holds the root password", key)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestCreatePasswordIsPrivate: after `create new1`, the server's root
// password reaches the requester alone, privately, once; the channel gets
// the server's name, addresses and how to log in.
func TestCreatePasswordIsPrivate(t *testing.T) {
	h, logs, rec := privateHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "create new1")
	post := h.WaitPost("new1.default.acme is up with symbiosis")
	pw := rootPassword(t, h, "new1.default.acme")
	srv, ok := h.Fake.Server("acme", "default", "new1")
	if !ok || !srv.PowerOn || len(srv.NetworkInterfaces) == 0 {
		t.Fatalf("new1 = %+v, %v; want it created and on", srv, ok)
	}
	all := post.Form.Get("text") + post.BlocksJSON()
	for _, want := range []string{srv.NetworkInterfaces[0].IPs[0], "ssh root@", "sent privately"} {
		if !strings.Contains(all, want) {
			t.Errorf("result lacks %q:\n%s", want, all)
		}
	}
	assertOnlyPrivate(t, h, logs, rec, pw)
}

// TestReimageApprovedPasswordIsPrivate: `reimage` needs approval whatever
// the policy says; nothing is written before it; after the approval it
// runs once, and the new root password reaches the requester alone.
func TestReimageApprovedPasswordIsPrivate(t *testing.T) {
	h, logs, rec := privateHarness(t, bottest.WithPolicy(t, "none"))
	body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "reimage web2 bookworm")
	if !strings.Contains(body.Text, "needs approval") {
		t.Errorf("reimage reply = %q; want it to need approval", body.Text)
	}
	b := h.WaitCard(1)
	card := h.Slack.Find("chat.postMessage", b.Ticket)[0].BlocksJSON()
	for _, want := range []string{"reimage web2.default.acme bookworm", "root", "25 GiB"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if n := h.reimages(); n != 0 {
		t.Fatalf("reimage calls before approval = %d; want 0", n)
	}
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("approve click = %d", code)
	}
	h.WaitPost("web2.default.acme reimaged with bookworm")
	pw := rootPassword(t, h, "web2.default.acme")
	if n := h.reimages(); n != 1 {
		t.Errorf("reimage calls after approval = %d; want 1", n)
	}
	if srv, _ := h.Fake.Server("acme", "default", "web2"); srv.LastImagedWith != "bookworm" {
		t.Errorf("web2 imaged with %q; want bookworm", srv.LastImagedWith)
	}
	assertOnlyPrivate(t, h, logs, rec, pw)
}

// reimages counts the reimage calls the fake received.
func (h *harness) reimages() int {
	n := 0
	for _, r := range h.Fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/reimage") {
			n++
		}
	}
	return n
}
