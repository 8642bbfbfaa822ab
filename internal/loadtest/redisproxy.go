package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// redisProxy sits between the bot and Redis (-redis-delay, -count-redis):
// it counts the bot's round trips to Redis and can hold every request for
// a while, as a Redis in another region would.
//
// A round trip is a burst the bot writes before it waits for the answer:
// one command, one pipeline or one script call (go-redis writes each in one
// write). The proxy counts reads from the bot's side of each connection,
// which is that burst unless a write is larger than the read buffer (32
// KiB), or two connections' writes are counted apart (they are: each
// connection is read on its own).
//
// The delay is added once per round trip, on the way to Redis (like
// netem on one side of a link): each chunk the bot wrote is passed on
// delay after it arrived, in order, so pipelining and concurrent
// connections are not serialized by it.
type redisProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	trips  atomic.Int64
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startRedisProxy(target string, delay time.Duration) (*redisProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &redisProxy{ln: ln, target: target, delay: delay, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	return p, nil
}

// addr is the proxy's host:port.
func (p *redisProxy) addr() string { return p.ln.Addr().String() }

// roundTrips is the number of round trips counted so far.
func (p *redisProxy) roundTrips() int64 { return p.trips.Load() }

func (p *redisProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *redisProxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		if p.conns == nil {
			return false
		}
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *redisProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve relays one connection of the bot's.
func (p *redisProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	p.track(c, true)
	p.track(up, true)
	defer p.track(c, false)
	defer p.track(up, false)
	var wg sync.WaitGroup
	wg.Go(func() {
		io.Copy(c, up) // answers go back at once
		c.Close()
	})
	p.toRedis(c, up)
	up.Close()
	wg.Wait()
}

type chunk struct {
	b  []byte
	at time.Time
}

// toRedis passes what the bot writes on to Redis, counting its bursts,
// each delay after it arrived.
func (p *redisProxy) toRedis(c, up net.Conn) {
	ch := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := range ch {
			if d := time.Until(k.at.Add(p.delay)); d > 0 {
				time.Sleep(d)
			}
			if _, err := up.Write(k.b); err != nil {
				for range ch {
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			p.trips.Add(1)
			ch <- chunk{b: append([]byte(nil), buf[:n]...), at: time.Now()}
		}
		if err != nil {
			break
		}
	}
	close(ch)
	<-done
}
