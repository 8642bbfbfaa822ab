package bot_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/redisconn"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// signals counts the power-off signals the fake received for server: one
// per restart.
func (h *harness) signals(server string) int {
	n := 0
	for _, r := range h.Fake.Requests() {
		if r.Method == http.MethodPost && strings.Contains(r.Path, "/"+server+"/signal") {
			n++
		}
	}
	return n
}

// marker runs "restart db1" as someone else and waits for its result.
// With one worker jobs run in the order they were queued, so anything
// queued before it has run when it returns.
func (h *harness) marker() {
	h.T.Helper()
	if r := h.MustSlash(bottest.UserAppr2, bottest.ChanOps, "restart db1"); !strings.Contains(r.Text, "Working on") {
		h.T.Fatalf("marker command answered %q", r.Text)
	}
	h.WaitPost("db1.default.acme restarted")
}

// TestSlashDeliveredTwiceRunsOnce: a slash command replayed byte for byte
// inside the signature window, retried by Slack (X-Slack-Retry-Num, signed
// again), or typed again by the same person a moment later runs once; the
// repeats are answered that it is already being handled.
func TestSlashDeliveredTwiceRunsOnce(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Workers = 1 }))
	body := slacktest.SlashBody(bottest.UserAsker, bottest.ChanOps, "restart web1")
	at := time.Now()
	if _, r := h.Send(slacktest.SignedRequest(bottest.SigningSecret, "/slack/commands", body, at), "restart web1"); !strings.Contains(r.Text, "Working on") {
		t.Fatalf("first delivery answered %q; want Working on", r.Text)
	}
	// The attacker's (or a proxy's) exact replay: same bytes, same signature.
	w, r := h.Send(slacktest.SignedRequest(bottest.SigningSecret, "/slack/commands", body, at), "restart web1")
	if w.Code != http.StatusOK || r.ResponseType != "ephemeral" || !strings.Contains(r.Text, "already being handled") {
		t.Errorf("exact replay = %d %+v; want 200 and an ephemeral 'already being handled'", w.Code, r)
	}
	// Slack's retry: the same body, signed again, with X-Slack-Retry-Num.
	retry := slacktest.SignedRequest(bottest.SigningSecret, "/slack/commands", body, at.Add(2*time.Second))
	retry.Header.Set("X-Slack-Retry-Num", "1")
	retry.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	if _, r := h.Send(retry, "restart web1"); !strings.Contains(r.Text, "already being handled") {
		t.Errorf("Slack retry answered %q; want 'already being handled'", r.Text)
	}
	// The person types it again (a new trigger_id).
	if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web1"); !strings.Contains(r.Text, "a moment ago") {
		t.Errorf("asking again at once answered %q; want 'a moment ago'", r.Text)
	}
	// Reads are not held back.
	for range 2 {
		if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "show web2"); !strings.Contains(r.Text, "Working on") {
			t.Errorf("show web2 answered %q; want Working on", r.Text)
		}
	}
	h.marker()
	if n := h.signals("web1"); n != 1 {
		t.Errorf("web1 was restarted %d times; want 1\n%s", n, h.Slack.Dump())
	}
	if n := len(h.Slack.Find("chat.postMessage", "web1.default.acme restarted")); n != 1 {
		t.Errorf("%d results for web1; want 1", n)
	}
}

// TestAskAgainAfterFailure: a change that failed may be asked for again at
// once; only one that was queued and did not fail counts as asked.
func TestAskAgainAfterFailure(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Workers = 1 }))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web9")
	h.WaitPost("failed", "can't find server")
	// The job's record says it failed (the result is posted just before).
	h.WaitAudit(bottest.UserAsker, "failed", 1)
	if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web9"); !strings.Contains(r.Text, "Working on") {
		t.Errorf("asking again after a failure answered %q; want Working on", r.Text)
	}
}

// TestClickDeliveredTwiceVotesOnce: a vote replayed byte for byte counts
// once (votes are idempotent per voter in the vote's script). Approving a
// purge is a press (which opens the type-the-name modal) and the modal's
// submission; each is delivered twice. The purge runs once, and the
// replayed submission is told the request was decided.
func TestClickDeliveredTwiceVotesOnce(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Workers = 1 }))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	b := h.WaitCard(1)
	press := h.Slack.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	at := time.Now()
	deliver := func(body []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.Handler.ServeHTTP(w, slacktest.SignedRequest(bottest.SigningSecret, "/slack/interactions", body, at))
		if w.Code != http.StatusOK {
			t.Fatalf("interaction = %d; want 200", w.Code)
		}
		return w
	}
	for range 2 {
		deliver(press.Body())
	}
	v, ok := h.Slack.ViewOpenedBy(press.TriggerID)
	if !ok {
		t.Fatalf("the press opened no modal:\n%s", h.Slack.Dump())
	}
	if n := len(h.Slack.Views()); n != 1 {
		t.Errorf("%d modals opened; want 1 (the replay's trigger was used)", n)
	}
	sub := h.Slack.Submit(bottest.UserAppr1, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: "web1"}})
	if w := deliver(sub.Body()); w.Body.Len() != 0 {
		t.Errorf("the submission answered %q; want an empty 200 (the modal closes)", w.Body.String())
	}
	if w := deliver(sub.Body()); !strings.Contains(w.Body.String(), "already been decided") {
		t.Errorf("the replayed submission answered %q; want it told the request was decided", w.Body.String())
	}
	h.WaitFor("the purge", func() bool { return h.Purges("web1") >= 1 })
	h.marker()
	if n := h.Purges("web1"); n != 1 {
		t.Errorf("web1 purged %d times; want 1", n)
	}
}

// slowRedis is a TCP proxy to the test Redis that can hold Redis's answers
// back, so that a command reaches Redis and runs while its caller gives up.
type slowRedis struct {
	ln    net.Listener
	delay atomic.Int64 // nanoseconds each answer is held
	mu    sync.Mutex
	conns []net.Conn
}

func newSlowRedis(t *testing.T) *slowRedis {
	opt, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowRedis{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", opt.Addr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						time.Sleep(time.Duration(p.delay.Load()))
						if _, werr := c.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
	return p
}

// client is a client of the proxy built as main builds its client
// (redisconn, from the test Redis's URL with the proxy's address).
func (p *slowRedis) client(t *testing.T) redis.UniversalClient {
	u, err := url.Parse(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	c, _, err := redisconn.Open(u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAskAgainAfterUnavailableRunsOnce: Redis queues a restart but answers
// too late, so the person is told the bot is unavailable and to try again;
// when they do, the restart is not queued a second time.
func TestAskAgainAfterUnavailableRunsOnce(t *testing.T) {
	p := newSlowRedis(t)
	h := newHarness(t, bottest.WithRedis(p.client(t)), bottest.WithConfig(func(c *bot.Config) {
		c.Workers = 1
		c.RequestTimeout = 300 * time.Millisecond
	}), bottest.WithoutExecutor())
	if err := h.Store.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.delay.Store(int64(time.Second))
	if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web1"); !strings.Contains(r.Text, "temporarily unavailable") {
		t.Fatalf("with Redis answering late the bot answered %q; want 'temporarily unavailable'", r.Text)
	}
	p.delay.Store(0)
	if r := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web1"); !strings.Contains(r.Text, "a moment ago") {
		t.Errorf("asking again answered %q; want 'a moment ago' (the first was queued)", r.Text)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Server.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h.marker()
	if n := h.signals("web1"); n != 1 {
		t.Errorf("web1 was restarted %d times; want 1\n%s", n, h.Slack.Dump())
	}
}
