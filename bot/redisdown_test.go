package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/redistest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// deadlines records, for every Redis command, how long its context had
// left when it was sent (-1 for no deadline).
type deadlines struct {
	mu   sync.Mutex
	left map[string][]time.Duration // command → time left, per call
}

func (d *deadlines) note(ctx context.Context, c redis.Cmder) {
	left := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.left[c.Name()] = append(d.left[c.Name()], left)
}

// TestRedisHangs checks that when Redis accepts connections but never
// answers, Slack still gets its 200, with a "try again" message, and
// nothing else happens. The client has no read timeout of its own and
// stops at context deadlines (as main builds it); every command the
// answer waits for carries the bot's RequestTimeout (300ms), not
// Slack's whole budget. How long an answer takes is not budgeted here
// (a loaded machine makes that flaky).
func TestRedisHangs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ReadTimeout: -1, WriteTimeout: -1,
		ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	dl := &deadlines{left: map[string][]time.Duration{}}
	redistest.OnCommand(rdb, dl.note)
	api := slacktest.New(t, slacktest.Options{TeamID: bottest.Team})
	policy, _ := commands.ParsePolicy("")
	s := bot.New(bot.Config{SigningSecret: bottest.SigningSecret, Approvers: []string{bottest.UserAppr1}, Policy: policy, RequestTimeout: 300 * time.Millisecond}, nil,
		approvals.New(rdb, approvals.Options{}), slackapp.NewPoster(api.Client(), nil), nil)
	t.Cleanup(s.Close)
	h := slackapp.New(s).Handler()

	// serve serves r, failing the test if no answer comes: only a wait
	// that nothing bounds would take slacktest.WaitTimeout.
	serve := func(what string, r *http.Request) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(w, r)
		}()
		select {
		case <-done:
		case <-time.After(slacktest.WaitTimeout):
			t.Fatalf("%s with Redis hanging: no answer after %s; want one after about RequestTimeout (300ms)", what, slacktest.WaitTimeout)
		}
		return w
	}

	for _, text := range []string{"list", "purge web1", "approvals", "cancel abc", "audit"} {
		w := serve(fmt.Sprintf("%q", text), bottest.Signer.Request("/slack/commands", slacktest.SlashBody(bottest.UserAsker, bottest.ChanOps, text)))
		var body bottest.SlashReply
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusOK || body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "temporarily unavailable") {
			t.Errorf("%q with Redis hanging = %d %+v; want 200 and an ephemeral 'temporarily unavailable'", text, w.Code, body)
		}
	}

	card := slacktest.Card{Ticket: "abc", BlockID: slackui.BlockPrefix + bottest.ChanOps, TS: "1.2"}
	w := serve("a click", bottest.Signer.Request("/slack/interactions", slacktest.ClickBody(bottest.UserAppr1, bottest.ChanOps, card, slackui.ActionApprove)))
	if w.Code != http.StatusOK {
		t.Errorf("click with Redis hanging = %d; want 200", w.Code)
	}
	api.WaitEphemeral(t, bottest.UserAppr1, "temporarily unavailable")
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if len(dl.left) == 0 {
		t.Errorf("no Redis command was sent; want the answers to have tried")
	}
	for cmd, lefts := range dl.left {
		for _, left := range lefts {
			if left < 0 || left > 300*time.Millisecond {
				t.Errorf("Redis %s sent with %v left to its deadline (-1: none); want at most RequestTimeout (300ms)", cmd, left)
			}
		}
	}
	if n := len(api.Calls("chat.postMessage")) + len(api.Calls("chat.update")); n != 0 {
		t.Errorf("Slack got %d posts or updates; want none", n)
	}
}
