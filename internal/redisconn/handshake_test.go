package redisconn_test

import (
	"testing"

	"github.com/bytebot/bytebot/internal/redistest"
)

// TestNoHandshakeRoundTrips: a connection of the bot's client (redistest
// builds it with redisconn, as main does) spoke RESP2 and sent no CLIENT
// SETINFO: opening it cost no round trip before its first command, which
// matters when Redis is far away (issue 20, point 6).
func TestNoHandshakeRoundTrips(t *testing.T) {
	rdb := redistest.Client(t)
	info, err := rdb.ClientInfo(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if info.Resp != 2 {
		t.Errorf("the connection speaks RESP%d; want RESP2 (no HELLO when it opens)", info.Resp)
	}
	if info.LibName != "" || info.LibVer != "" {
		t.Errorf("the connection named its library (%q %q): a CLIENT SETINFO round trip when it opened", info.LibName, info.LibVer)
	}
}
