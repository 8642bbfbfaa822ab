package slacktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Signature is Slack's v0 request signature of body sent at Unix time ts:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
func Signature(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// A Signer signs requests as Slack does, with its secret and clock.
type Signer struct {
	Secret string
	// Now is the signing clock; time.Now if nil.
	Now func() time.Time
}

func (s Signer) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Headers are the X-Slack-Request-Timestamp and X-Slack-Signature headers
// Slack sends with body now.
func (s Signer) Headers(body []byte) http.Header {
	return SignedHeaders(s.Secret, body, s.now())
}

// Request is a POST of body (a form) to target (a URL, or a path for a
// handler), signed now.
func (s Signer) Request(target string, body []byte) *http.Request {
	return SignedRequest(s.Secret, target, body, s.now())
}

// SignedHeaders are the headers Slack sends with body at the time at.
func SignedHeaders(secret string, body []byte, at time.Time) http.Header {
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("X-Slack-Signature", Signature(secret, at.Unix(), body))
	return h
}

// SignedRequest is a POST of body (a form) to target (a URL, or a path
// for a handler's ServeHTTP), signed with secret at the time at.
func SignedRequest(secret, target string, body []byte, at time.Time) *http.Request {
	r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		panic("slacktest: " + err.Error())
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range SignedHeaders(secret, body, at) {
		r.Header[k] = v
	}
	return r
}

// Grafana's HMAC headers (grafana/alerting http/hmac.go; the timestamp
// header has no default there: Grafana's tests use this one).
const (
	GrafanaSignatureHeader = "X-Grafana-Alerting-Signature"
	GrafanaTimestampHeader = "X-Grafana-Alerting-Timestamp"
)

// GrafanaSignature is Grafana's webhook HMAC: bare lowercase hex of
// HMAC-SHA256(secret, ts + ":" + body), or of the body alone when ts is "".
func GrafanaSignature(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	if ts != "" {
		mac.Write([]byte(ts + ":"))
	}
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// GrafanaHeaders are the signature and timestamp headers Grafana sends
// with body at the time at.
func GrafanaHeaders(secret string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(GrafanaSignatureHeader, GrafanaSignature(secret, ts, body))
	h.Set(GrafanaTimestampHeader, ts)
	return h
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
