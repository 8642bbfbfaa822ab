package bot_test

import (
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
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestRedisHangs checks that when Redis accepts connections but never
// answers, Slack still gets its 200, with a "try again" message, and
// nothing else happens. The client has no read timeout of its own and
// stops at context deadlines (as main builds it), so only the bot's
// RequestTimeout can end the wait: an answer at all shows it does. How
// long it takes is not budgeted here (a loaded machine makes that flaky).
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
	api := slacktest.New(t, slacktest.Options{TeamID: testTeam})
	policy, _ := commands.ParsePolicy("")
	s := bot.New(bot.Config{SigningSecret: testSecret, Approvers: []string{userAppr1}, Policy: policy, RequestTimeout: 300 * time.Millisecond}, nil,
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
		w := serve(fmt.Sprintf("%q", text), signer.Request("/slack/commands", slacktest.SlashBody(userAsker, chanOps, text)))
		var body slashReply
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusOK || body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "temporarily unavailable") {
			t.Errorf("%q with Redis hanging = %d %+v; want 200 and an ephemeral 'temporarily unavailable'", text, w.Code, body)
		}
	}

	card := slacktest.Card{Ticket: "abc", BlockID: slackui.BlockPrefix + chanOps, TS: "1.2"}
	w := serve("a click", signer.Request("/slack/interactions", slacktest.ClickBody(userAppr1, chanOps, card, slackui.ActionApprove)))
	if w.Code != http.StatusOK {
		t.Errorf("click with Redis hanging = %d; want 200", w.Code)
	}
	api.WaitEphemeral(t, userAppr1, "temporarily unavailable")
	if n := len(api.Calls("chat.postMessage")) + len(api.Calls("chat.update")); n != 0 {
		t.Errorf("Slack got %d posts or updates; want none", n)
	}
}
