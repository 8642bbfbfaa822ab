package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rawClient is a lean HTTP/1.1 keep-alive client for the load runs: the
// goroutine that sends a request writes it and reads the answer on its own
// connection. net/http's Transport hands every request to two more
// goroutines per connection (its read and write loops), and on a small
// machine those hand-offs cost the client more CPU than the floor spends
// answering, CPU the bot under test would otherwise have. Idle connections
// are reused last-in first-out, so that no more are open than were ever
// in flight at once.
type rawClient struct {
	timeout time.Duration
	dialer  net.Dialer

	mu   sync.Mutex
	idle map[string][]*rawConn // by host:port
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func newRawClient(timeout time.Duration) *rawClient {
	return &rawClient{timeout: timeout, dialer: net.Dialer{Timeout: 5 * time.Second}, idle: map[string][]*rawConn{}}
}

// header is one request header line.
type header struct{ key, value string }

// rawResponse is what came back.
type rawResponse struct {
	Status int
	Body   []byte
}

// errClose is returned (with the answer) when the server asked to close.
var errClose = errors.New("connection: close")

func (cn *rawConn) roundTrip(host, path string, headers []header, body []byte, timeout time.Duration) (rawResponse, bool, error) {
	cn.c.SetDeadline(time.Now().Add(timeout))
	w := cn.bw
	w.WriteString("POST ")
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\nUser-Agent: bytebot-loadtest\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n")
	for _, h := range headers {
		w.WriteString(h.key)
		w.WriteString(": ")
		w.WriteString(h.value)
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return rawResponse{}, false, err
	}
	resp, err := http.ReadResponse(cn.br, nil)
	if err != nil {
		return rawResponse{}, true, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return rawResponse{}, true, err
	}
	out := rawResponse{Status: resp.StatusCode, Body: b}
	if resp.Close {
		return out, true, errClose
	}
	return out, true, nil
}

// do sends a POST of body to http://host/path with the headers, reads the
// whole answer and puts the connection back for the next request (or
// closes it when the server asked to).
func (rc *rawClient) do(host, path string, headers []header, body []byte) (rawResponse, error) {
	for attempt := 0; ; attempt++ {
		cn, reused, err := rc.get(host)
		if err != nil {
			return rawResponse{}, err
		}
		resp, wrote, err := cn.roundTrip(host, path, headers, body, rc.timeout)
		switch {
		case err == nil:
			rc.put(host, cn)
			return resp, nil
		case errors.Is(err, errClose):
			cn.c.Close()
			return resp, nil
		}
		cn.c.Close()
		// The server may have closed an idle connection just as it was
		// reused: then nothing was answered, and sending again is safe.
		stale := reused && (!wrote || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
		if !stale || attempt > 0 {
			return rawResponse{}, err
		}
	}
}

func (rc *rawClient) get(host string) (*rawConn, bool, error) {
	rc.mu.Lock()
	if l := rc.idle[host]; len(l) > 0 {
		cn := l[len(l)-1]
		rc.idle[host] = l[:len(l)-1]
		rc.mu.Unlock()
		return cn, true, nil
	}
	rc.mu.Unlock()
	c, err := rc.dialer.Dial("tcp", host)
	if err != nil {
		return nil, false, err
	}
	return &rawConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, false, nil
}

func (rc *rawClient) put(host string, cn *rawConn) {
	rc.mu.Lock()
	rc.idle[host] = append(rc.idle[host], cn)
	rc.mu.Unlock()
}

// closeIdle closes every idle connection.
func (rc *rawClient) closeIdle() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for host, l := range rc.idle {
		for _, cn := range l {
			cn.c.Close()
		}
		delete(rc.idle, host)
	}
}

// open returns how many connections to host are idle.
func (rc *rawClient) open(host string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.idle[host])
}
