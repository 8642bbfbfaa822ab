package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

// slackHeaders are the X-Slack-Request-Timestamp and X-Slack-Signature
// headers Slack sends with body at the time now.
func slackHeaders(secret string, body []byte, now time.Time) []header {
	ts := strconv.FormatInt(now.Unix(), 10)
	return []header{{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", signature(secret, ts, body)}}
}
