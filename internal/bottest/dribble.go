package bottest

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// Dribble opens a connection to the bot listening at addr (host:port) and
// sends a webhook delivery's request line and headers for path (hdr, each
// "Name: value") and the first bytes of a body it promises to be 100 kB
// long, then stalls: a slow or hostile client at the front door. The
// connection is closed at the end of the test.
func Dribble(t testing.TB, addr, path string, hdr ...string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n", path)
	for _, h := range hdr {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n{\"alerts\":[")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	return c
}
