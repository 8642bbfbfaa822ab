package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The figures issue 20 asks for beyond the acknowledgement's latency: the
// answer end to end, Redis round trips and Slack calls per request.

// endToEnd is the latency of the run's answers: from when each request
// was due to the first post to its response_url (nil when the load has
// none). An answer that never came counts as an error.
func (h *run1) endToEnd(r runResult) *stats {
	if h.stub == nil {
		return nil
	}
	var out runResult
	out.Start = r.Start
	for _, s := range r.Samples {
		if s.Answer == "" {
			continue
		}
		at, ok := h.stub.answeredAt(s.Answer)
		if !ok {
			out.Samples = append(out.Samples, sample{Latency: -1, Err: "no answer through the response_url"})
			continue
		}
		out.Samples = append(out.Samples, sample{Latency: at.Sub(s.Due)})
		if at.After(out.Finished) {
			out.Finished = at
		}
	}
	if len(out.Samples) == 0 {
		return nil
	}
	return ptr(summarize(out))
}

// redisTrips is the bot's round trips to Redis so far (0 without the
// proxy).
func (h *run1) redisTrips() int64 {
	if h.proxy == nil {
		return 0
	}
	return h.proxy.roundTrips()
}

// redisURL is h.o.Redis with its host:port replaced by addr (the proxy's).
func redisURLVia(raw, addr string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("-redis is not a URL")
	}
	u.Host = addr
	return u.String(), nil
}

// approvalCost is what an approval of a purge cost: the click and the
// submitted modal, and the executor's work after them.
type approvalCost struct {
	Approvals   int            `json:"approvals"`
	SlackCalls  map[string]int `json:"slack_calls"`
	RedisTrips  *int64         `json:"redis_round_trips,omitempty"`
	ClickP99    time.Duration  `json:"click_p99_ns"`
	SubmitP99   time.Duration  `json:"submit_p99_ns"`
	ClickFloor  time.Duration  `json:"click_floor_p99_ns"`
	SubmitFloor time.Duration  `json:"submit_floor_p99_ns"`
}

func approvalCosts(click, submit *stepResult, n int) *approvalCost {
	c := &approvalCost{Approvals: n, SlackCalls: map[string]int{}}
	for _, s := range []*stepResult{click, submit} {
		for k, v := range s.SlackCalls {
			c.SlackCalls[k] += v
		}
		if s.RedisTrips != nil {
			c.RedisTrips = ptr(*s.RedisTrips + valueOr(c.RedisTrips))
		}
	}
	c.ClickP99, c.ClickFloor = click.Bot.P99, click.Floor.P99
	c.SubmitP99, c.SubmitFloor = submit.Bot.P99, submit.Floor.P99
	return c
}

func valueOr(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// perfNotes are a step's end-to-end and Redis figures, for its note.
func perfNotes(s *stepResult) []string {
	var parts []string
	if e := s.EndToEnd; e != nil {
		parts = append(parts, fmt.Sprintf("end to end (due → answer posted to the response_url): p50 %s p99 %s p99.9 %s max %s ms, %d of %d answered",
			ms(e.P50), ms(e.P99), ms(e.P999), ms(e.Max), e.OK, e.N))
	}
	if s.RedisTrips != nil && s.Bot != nil && s.Bot.N > 0 {
		parts = append(parts, fmt.Sprintf("Redis round trips: %d, %.2f per request (the executor's idle polling included)",
			*s.RedisTrips, float64(*s.RedisTrips)/float64(s.Bot.N)))
	}
	return parts
}

// note sums up an approval's cost, as a paragraph ("" without one).
func (c *approvalCost) note() string {
	if c == nil || c.Approvals == 0 {
		return ""
	}
	per := func(n int) string { return fmt.Sprintf("%.2f", float64(n)/float64(c.Approvals)) }
	keys := make([]string, 0, len(c.SlackCalls))
	for k := range c.SlackCalls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := fmt.Sprintf("Per approved purge (click, type-the-name modal submitted, purged with PURGE_GRACE=0s; %d approvals):", c.Approvals)
	for _, k := range keys {
		s += fmt.Sprintf(" %s %s,", k, per(c.SlackCalls[k]))
	}
	if c.RedisTrips != nil {
		s += fmt.Sprintf(" Redis round trips %s,", per(int(*c.RedisTrips)))
	}
	return "\n" + s + fmt.Sprintf(" click p99 %s ms (floor %s), submit p99 %s ms (floor %s).\n\n", ms(c.ClickP99), ms(c.ClickFloor), ms(c.SubmitP99), ms(c.SubmitFloor))
}

// checkClosed accepts a view_submission answer that closes the modal:
// an empty body, or one without errors.
func checkClosed(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	var a struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return errors.New("not a JSON answer")
	}
	if a.ResponseAction == "errors" || len(a.Errors) > 0 {
		return fmt.Errorf("modal refused: %v", a.Errors)
	}
	return nil
}

// fakeLatency measures the fake Bytemark's own latency, as the bot sees a
// show's calls: n GETs of a server, one after another on one keep-alive
// connection, while nothing else runs (issue 20 sets the end-to-end
// target relative to it).
func fakeLatency(ctx context.Context, base, key string, n int) (*stats, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	u := strings.TrimSuffix(base, "/") + "/accounts/acme/groups/default/virtual_machines/web1"
	var r runResult
	r.Start = time.Now()
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer apikey."+strings.TrimPrefix(key, "apikey."))
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s := sample{Latency: time.Since(t0)}
		if resp.StatusCode != http.StatusOK {
			s.Err = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		r.Samples = append(r.Samples, s)
	}
	r.Finished = time.Now()
	st := summarize(r)
	return &st, nil
}

// perfParagraph is what the report says of the fake's latency and of an
// approval's cost, after the notes.
func (r *report) perfParagraph() string {
	s := ""
	if f := r.FakeLatency; f != nil {
		s = fmt.Sprintf("\nThe fake Bytemark's own latency (GET a server, %d in a row, before the runs): p50 %s p99 %s ms.\n", f.N, ms(f.P50), ms(f.P99))
	}
	return s + r.Approvals.note()
}

// checked makes the requests of make judged by check, answered at once
// (nothing through a response_url).
func checked(make func(int) request, check func([]byte) error) func(int) request {
	return func(i int) request {
		rq := make(i)
		rq.Check, rq.Answer = check, ""
		return rq
	}
}

// checkHelp accepts the help text, answered at once.
func checkHelp(body []byte) error {
	var a slashAck
	if err := json.Unmarshal(body, &a); err != nil {
		return errors.New("not a JSON reply")
	}
	if !strings.Contains(a.Text, "/bytemark") {
		return fmt.Errorf("%s reply %q", a.ResponseType, truncate(a.Text, 60))
	}
	return nil
}
