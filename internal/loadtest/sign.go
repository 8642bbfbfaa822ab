package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// signature computes Slack's v0 request signature of body sent at
// timestamp ts: "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
func signature(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:"))
	mac.Write([]byte(ts))
	mac.Write([]byte(":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// sign sets the X-Slack-Request-Timestamp and X-Slack-Signature headers of
// a request carrying body, as Slack does, with the time now.
func sign(h http.Header, secret string, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", signature(secret, ts, body))
}
