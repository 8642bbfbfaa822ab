package bot_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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
// answers, Slack still gets its 200 in time, with a "try again" message,
// and nothing else happens. The client stops at context deadlines, as
// main builds it.
func TestRedisHangs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ReadTimeout: 2 * time.Second,
		ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	api := slacktest.New(t, slacktest.Options{TeamID: testTeam})
	policy, _ := commands.ParsePolicy("")
	s := bot.New(bot.Config{SigningSecret: testSecret, Approvers: []string{userAppr1}, Policy: policy, RequestTimeout: 300 * time.Millisecond}, nil,
		approvals.New(rdb, approvals.Options{}), slackapp.NewPoster(api.Client(), nil), nil)
	t.Cleanup(s.Close)
	h := slackapp.New(s).Handler()

	for _, text := range []string{"list", "purge web1", "approvals", "cancel abc", "audit"} {
		v := url.Values{"command": {"/bytemark"}, "text": {text}, "user_id": {userAsker}, "channel_id": {chanOps}}
		start := time.Now()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signer.Request("/slack/commands", []byte(v.Encode())))
		took := time.Since(start)
		var body slashReply
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusOK || body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "temporarily unavailable") {
			t.Errorf("%q with Redis hanging = %d %+v; want 200 and an ephemeral 'temporarily unavailable'", text, w.Code, body)
		}
		if took > time.Second {
			t.Errorf("%q with Redis hanging answered in %s; want about RequestTimeout (300ms)", text, took)
		}
	}

	h2 := &harness{t: t, s: s, h: h, slack: api}
	start := time.Now()
	code := h2.click(userAppr1, chanOps, slacktest.Card{Ticket: "abc", BlockID: slackui.BlockPrefix + chanOps, TS: "1.2"}, slackui.ActionApprove)
	if took := time.Since(start); code != http.StatusOK || took > time.Second {
		t.Errorf("click with Redis hanging = %d in %s; want 200 in about RequestTimeout (300ms)", code, took)
	}
	h2.waitFor("the clicker told to try again", func() bool {
		return len(api.Find("chat.postEphemeral", "temporarily unavailable")) > 0
	})
	if n := len(api.Calls("chat.postMessage")) + len(api.Calls("chat.update")); n != 0 {
		t.Errorf("Slack got %d posts or updates; want none", n)
	}
}
