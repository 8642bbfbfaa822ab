package bot_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestVerifyRefuses checks that requests that are not signed by Slack, or
// too old, or too big, are refused before anything is parsed or done.
func TestVerifyRefuses(t *testing.T) {
	const secret = "test-signing-secret"
	s := bot.New(bot.Config{SigningSecret: secret}, nil, nil, nil, nil)
	h := slackapp.New(s).Handler()
	body := slacktest.SlashBody(bottest.UserAsker, bottest.ChanOps, "list")
	big := []byte("text=" + strings.Repeat("a", 70<<10))

	tests := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"unsigned", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/slack/commands", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, http.StatusUnauthorized},
		{"wrong secret", func() *http.Request {
			return slacktest.Signer{Secret: "not-the-secret"}.Request("/slack/commands", body)
		}, http.StatusUnauthorized},
		{"tampered body", func() *http.Request {
			r := slacktest.Signer{Secret: secret}.Request("/slack/commands", body)
			r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("text=list"), []byte("text=purge+web1"), 1)))
			return r
		}, http.StatusUnauthorized},
		{"stale", func() *http.Request {
			return slacktest.SignedRequest(secret, "/slack/commands", body, time.Now().Add(-6*time.Minute))
		}, http.StatusUnauthorized},
		{"future", func() *http.Request {
			return slacktest.SignedRequest(secret, "/slack/commands", body, time.Now().Add(6*time.Minute))
		}, http.StatusUnauthorized},
		{"uppercase V0", func() *http.Request {
			r := slacktest.Signer{Secret: secret}.Request("/slack/commands", body)
			r.Header.Set("X-Slack-Signature", strings.Replace(r.Header.Get("X-Slack-Signature"), "v0=", "V0=", 1))
			return r
		}, http.StatusUnauthorized},
		{"interaction unsigned", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(body))
			return r
		}, http.StatusUnauthorized},
		{"oversized signed", func() *http.Request { return slacktest.Signer{Secret: secret}.Request("/slack/commands", big) }, http.StatusRequestEntityTooLarge},
		{"oversized unsigned", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(big))
		}, http.StatusRequestEntityTooLarge},
		{"oversized without length", func() *http.Request {
			r := slacktest.Signer{Secret: secret}.Request("/slack/commands", big)
			r.ContentLength = -1
			return r
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req())
			if got := w.Code; got != tt.want {
				t.Errorf("status = %d; want %d (body %q)", got, tt.want, w.Body.String())
			}
		})
	}
}

// TestVerifyEmptySecret checks that a missing signing secret fails closed.
func TestVerifyEmptySecret(t *testing.T) {
	s := bot.New(bot.Config{}, nil, nil, nil, nil)
	body := slacktest.SlashBody(bottest.UserAsker, bottest.ChanOps, "list")
	w := httptest.NewRecorder()
	slackapp.New(s).Handler().ServeHTTP(w, slacktest.Signer{Secret: ""}.Request("/slack/commands", body))
	if got, want := w.Code, http.StatusUnauthorized; got != want {
		t.Errorf("status = %d; want %d", got, want)
	}
}

// TestSSLCheck checks that Slack's ssl_check ping gets a 200, signed or not.
func TestSSLCheck(t *testing.T) {
	const secret = "test-signing-secret"
	s := bot.New(bot.Config{SigningSecret: secret}, nil, nil, nil, nil)
	body := bottest.ReadTestdata(t, "ssl_check.txt")
	for _, r := range []*http.Request{
		slacktest.Signer{Secret: secret}.Request("/slack/commands", body),
		httptest.NewRequest(http.MethodPost, "/slack/commands", bytes.NewReader(body)),
	} {
		w := httptest.NewRecorder()
		slackapp.New(s).Handler().ServeHTTP(w, r)
		if got, want := w.Code, http.StatusOK; got != want {
			t.Errorf("ssl_check status = %d; want %d", got, want)
		}
		if w.Body.Len() != 0 {
			t.Errorf("ssl_check body = %q; want empty", w.Body.String())
		}
	}
}
