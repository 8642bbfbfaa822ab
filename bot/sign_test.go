package bot_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
)

// computeSignature is Slack's v0 request signature over ts and body.
func computeSignature(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// signedRequest returns a POST of body to path, signed now with secret.
func signedRequest(t testing.TB, secret, path string, body []byte) *http.Request {
	t.Helper()
	return signedRequestAt(t, secret, path, body, time.Now())
}

func signedRequestAt(t testing.TB, secret, path string, body []byte, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
	r.Header.Set("X-Slack-Signature", computeSignature(secret, at.Unix(), body))
	return r
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestComputeSignature checks the test signer against Slack's published
// worked example, so that the tests sign exactly as Slack does.
func TestComputeSignature(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	got := computeSignature("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, []byte(body))
	want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got != want {
		t.Errorf("computeSignature(Slack's example) = %s; want %s", got, want)
	}
}

// TestVerifyRefuses checks that requests that are not signed by Slack, or
// too old, or too big, are refused before anything is parsed or done.
func TestVerifyRefuses(t *testing.T) {
	const secret = "test-signing-secret"
	s := bot.New(bot.Config{SigningSecret: secret}, nil, nil, nil, nil)
	h := slackapp.New(s).Handler()
	body := readTestdata(t, "slash_command.txt")
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
		{"wrong secret", func() *http.Request { return signedRequest(t, "not-the-secret", "/slack/commands", body) }, http.StatusUnauthorized},
		{"tampered body", func() *http.Request {
			r := signedRequest(t, secret, "/slack/commands", body)
			r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("text=list"), []byte("text=purge+web1"), 1)))
			return r
		}, http.StatusUnauthorized},
		{"stale", func() *http.Request {
			return signedRequestAt(t, secret, "/slack/commands", body, time.Now().Add(-6*time.Minute))
		}, http.StatusUnauthorized},
		{"future", func() *http.Request {
			return signedRequestAt(t, secret, "/slack/commands", body, time.Now().Add(6*time.Minute))
		}, http.StatusUnauthorized},
		{"uppercase V0", func() *http.Request {
			r := signedRequest(t, secret, "/slack/commands", body)
			r.Header.Set("X-Slack-Signature", strings.Replace(r.Header.Get("X-Slack-Signature"), "v0=", "V0=", 1))
			return r
		}, http.StatusUnauthorized},
		{"interaction unsigned", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(body))
			return r
		}, http.StatusUnauthorized},
		{"oversized signed", func() *http.Request { return signedRequest(t, secret, "/slack/commands", big) }, http.StatusRequestEntityTooLarge},
		{"oversized unsigned", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(big))
		}, http.StatusRequestEntityTooLarge},
		{"oversized without length", func() *http.Request {
			r := signedRequest(t, secret, "/slack/commands", big)
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
	body := readTestdata(t, "slash_command.txt")
	w := httptest.NewRecorder()
	slackapp.New(s).Handler().ServeHTTP(w, signedRequest(t, "", "/slack/commands", body))
	if got, want := w.Code, http.StatusUnauthorized; got != want {
		t.Errorf("status = %d; want %d", got, want)
	}
}

// TestSSLCheck checks that Slack's ssl_check ping gets a 200, signed or not.
func TestSSLCheck(t *testing.T) {
	const secret = "test-signing-secret"
	s := bot.New(bot.Config{SigningSecret: secret}, nil, nil, nil, nil)
	body := readTestdata(t, "ssl_check.txt")
	for _, r := range []*http.Request{
		signedRequest(t, secret, "/slack/commands", body),
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
