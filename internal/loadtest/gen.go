package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bytebot/bytebot/internal/slacktest"
)

// A request is one request of a load run, ready to sign and send.
type request struct {
	// Path is appended to the target's base URL.
	Path string
	Body []byte
	// ContentType of Body.
	ContentType string
	// Bearer, when set, is sent as "Authorization: Bearer <Bearer>".
	Bearer string
	// Check judges the answer (the status is already known to be 2xx); nil
	// accepts any 2xx.
	Check func(body []byte) error
	// Answer, when set, is the response_url whose first post is the
	// request's answer, end to end (the Slack stand-in's).
	Answer string
}

// A load is what to send: request i of a run.
type load struct {
	Name string
	Make func(i int) request
	// Sign adds Slack's signature headers (with the send time) to every
	// request.
	Sign bool
}

// runConfig is one open-loop run: n = Rate×Duration requests, request i due
// at Start + i/Rate, whatever happened to the earlier ones.
type runConfig struct {
	Base     string // target base URL, e.g. http://127.0.0.1:8080 (plain HTTP)
	Rate     float64
	Duration time.Duration
	// Concurrency bounds the requests in flight (and so the connections
	// open); requests due while all are busy wait in the client, and that
	// wait is counted in their latency.
	Concurrency int
	// Late is the latency past which an answer counts as an error (Slack
	// gives up after 3 s).
	Late   time.Duration
	Secret string
	// N, when positive, is the number of requests instead of
	// Rate×Duration.
	N int
}

// host is the host:port of Base.
func (c runConfig) host() string {
	return strings.TrimSuffix(strings.TrimPrefix(c.Base, "http://"), "/")
}

// sample is what happened to one request.
type sample struct {
	Latency time.Duration // from the scheduled time to the whole answer read
	Lag     time.Duration // from the scheduled time to the start of sending
	Err     string        // "" when it succeeded
	// Due is when it was scheduled; Answer is its request's Answer.
	Due    time.Time
	Answer string
}

// runResult is the raw outcome of a run.
type runResult struct {
	Offered  float64
	Samples  []sample
	Start    time.Time
	Finished time.Time // when the last answer arrived
}

// schedule returns when request i of a run at rate per second is due,
// relative to the start of the run.
func schedule(i int, rate float64) time.Duration {
	return time.Duration(math.Round(float64(i) * float64(time.Second) / rate))
}

// count is how many requests a run at rate for d sends (at least one).
func count(rate float64, d time.Duration) int {
	return max(1, int(math.Round(rate*d.Seconds())))
}

// run sends l to cfg.Base open-loop and returns every request's latency,
// measured from the time it was scheduled for, so that a stall of the
// target (or of the client) shows as latency of every request due during
// it rather than as fewer requests sent (no coordinated omission).
func run(ctx context.Context, client *rawClient, cfg runConfig, l load) runResult {
	n := cfg.N
	if n <= 0 {
		n = count(cfg.Rate, cfg.Duration)
	}
	res := runResult{Offered: cfg.Rate, Samples: make([]sample, n)}
	workers := min(n, max(1, cfg.Concurrency))
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var finished time.Time
	start := time.Now().Add(20 * time.Millisecond) // let the workers start
	// Each idle worker claims the next request and sends it when it is due;
	// when every worker is busy, the requests falling due wait for one,
	// and that wait is part of their latency. No request is ever skipped.
	for range workers {
		wg.Go(func() {
			sl := newSleeper()
			defer sl.close()
			stop := context.AfterFunc(ctx, sl.wake)
			defer stop()
			var last time.Time
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				at := start.Add(schedule(i, cfg.Rate))
				for ctx.Err() == nil {
					d := time.Until(at)
					if d <= 0 {
						break
					}
					sl.sleep(d)
				}
				if ctx.Err() != nil {
					res.Samples[i] = sample{Latency: -1, Err: "not sent"}
					continue
				}
				res.Samples[i] = send(ctx, client, cfg, l, i, at)
				last = time.Now()
			}
			mu.Lock()
			if last.After(finished) {
				finished = last
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Start, res.Finished = start, finished
	return res
}

// send sends request i and reads the whole answer.
func send(ctx context.Context, client *rawClient, cfg runConfig, l load, i int, at time.Time) sample {
	lag := time.Since(at)
	s := sendOne(ctx, client, cfg, l, i, at)
	s.Lag, s.Due = lag, at
	return s
}

func sendOne(ctx context.Context, client *rawClient, cfg runConfig, l load, i int, at time.Time) sample {
	rq := l.Make(i)
	s := sendRequest(ctx, client, cfg, l, rq, at)
	s.Answer = rq.Answer
	return s
}

func sendRequest(ctx context.Context, client *rawClient, cfg runConfig, l load, rq request, at time.Time) sample {
	hs := make([]header, 0, 4)
	hs = append(hs, header{"Content-Type", rq.ContentType})
	if rq.Bearer != "" {
		hs = append(hs, header{"Authorization", "Bearer " + rq.Bearer})
	}
	if l.Sign {
		for k, v := range slacktest.SignedHeaders(cfg.Secret, rq.Body, time.Now()) {
			hs = append(hs, header{k, v[0]})
		}
	}
	if ctx.Err() != nil {
		return sample{Latency: -1, Err: "not sent"}
	}
	resp, err := client.do(cfg.host(), rq.Path, hs, rq.Body)
	lat := time.Since(at)
	switch {
	case err != nil:
		return sample{Latency: lat, Err: transportError(err)}
	case resp.Status < 200 || resp.Status > 299:
		return sample{Latency: lat, Err: fmt.Sprintf("HTTP %d", resp.Status)}
	case cfg.Late > 0 && lat > cfg.Late:
		return sample{Latency: lat, Err: fmt.Sprintf("later than %s", cfg.Late)}
	}
	if rq.Check != nil {
		if err := rq.Check(resp.Body); err != nil {
			return sample{Latency: lat, Err: "unexpected answer: " + err.Error()}
		}
	}
	return sample{Latency: lat}
}

// transportError is a short, low-cardinality name for a client error.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "network: " + oe.Op
	}
	return "transport"
}

// stats are the figures of one run.
type stats struct {
	N          int            `json:"n"`
	OK         int            `json:"ok"`
	Errors     int            `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	P50        time.Duration  `json:"p50_ns"`
	P99        time.Duration  `json:"p99_ns"`
	P999       time.Duration  `json:"p999_ns"`
	Max        time.Duration  `json:"max_ns"`
	// Throughput is successful answers per second, from the start of the
	// schedule to the last answer.
	Throughput float64 `json:"throughput_per_s"`
	// Elapsed is from the start of the schedule to the last answer.
	Elapsed time.Duration `json:"elapsed_ns"`
	MaxLag  time.Duration `json:"client_max_lag_ns"`
	// LagP50 and LagP99 are the client's own delay in starting requests
	// (scheduler wake-up, waiting for a free worker); they are part of the
	// latencies above.
	LagP50 time.Duration `json:"client_lag_p50_ns"`
	LagP99 time.Duration `json:"client_lag_p99_ns"`
}

// summarize computes the figures of a run. Percentiles are over every
// request that was sent, failed ones included (a failure is no faster for
// whoever waited for it).
func summarize(r runResult) stats {
	st := stats{N: len(r.Samples)}
	lat := make([]time.Duration, 0, len(r.Samples))
	lags := make([]time.Duration, 0, len(r.Samples))
	for _, s := range r.Samples {
		if s.Err != "" {
			st.Errors++
			if st.ErrorKinds == nil {
				st.ErrorKinds = map[string]int{}
			}
			st.ErrorKinds[s.Err]++
		} else {
			st.OK++
		}
		if s.Latency >= 0 {
			lat = append(lat, s.Latency)
			lags = append(lags, s.Lag)
		}
	}
	slices.Sort(lat)
	slices.Sort(lags)
	st.LagP50, st.LagP99 = percentile(lags, 50), percentile(lags, 99)
	if len(lags) > 0 {
		st.MaxLag = lags[len(lags)-1]
	}
	st.P50 = percentile(lat, 50)
	st.P99 = percentile(lat, 99)
	st.P999 = percentile(lat, 99.9)
	if len(lat) > 0 {
		st.Max = lat[len(lat)-1]
	}
	if el := r.Finished.Sub(r.Start); el > 0 {
		st.Elapsed = el
		st.Throughput = float64(st.OK) / el.Seconds()
	}
	return st
}

// percentile returns the p-th percentile of sorted by the nearest-rank
// method: the smallest value that at least p% of the values are at or
// below. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (99.9/100×1000 = 999.0000000000001)
	// from moving the rank up by one.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// errorSummary lists the kinds of errors, most frequent first.
func errorSummary(kinds map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range kinds {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var b bytes.Buffer
	for i, e := range all {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d× %s", e.v, e.k)
	}
	return b.String()
}
