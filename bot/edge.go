package bot

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// What the edges (bot/slackapp, the webhooks) need of the core around an
// HTTP request: its ID, the background work after it, and its metrics.

type ctxKey int

const requestIDKey ctxKey = iota

// WithRequestID returns ctx carrying the request ID id, for the logs and
// for Invocation.RequestID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the ID WithRequestID gave ctx, or a new one.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	if id == "" {
		id = NewRequestID()
	}
	return id
}

// NewRequestID returns a new request ID.
func NewRequestID() string { return newID(4) }

// requestID returns the request ID of r.
func requestID(r *http.Request) string { return RequestID(r.Context()) }

// Go runs f in the background, after the current request has been
// answered (at once with Config.Inline); Close waits for it.
func (s *Server) Go(f func()) { s.async(f) }

// CountRequest counts a Slack HTTP request on route answered with code.
func (s *Server) CountRequest(route string, code int) {
	s.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// Ready checks that Redis answers and that the Bytemark login works (as
// last checked, at most Config.ReadyEvery ago), and returns the names of
// the checks that failed ("redis", "bytemark"); reqID is for the log.
func (s *Server) Ready(ctx context.Context, reqID string) []string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	type check struct {
		name string
		err  error
	}
	results := make(chan check, 2)
	go func() { results <- check{"redis", s.quick(ctx, s.Store.Ping)} }()
	go func() { results <- check{"bytemark", s.pingBytemark(ctx)} }()
	var failed []string
	for range 2 {
		c := <-results
		if c.err != nil {
			s.Logger.Warn("not ready", "req", reqID, "check", c.name, "err", c.err)
			failed = append(failed, c.name)
		}
	}
	return failed
}
