package reliability

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scenario: the public port is not a window into the bot or a lever on
// the Bytemark account. /metrics answers 404 there and is served on
// METRICS_ADDR; /readyz, asked by anyone as fast as they like, makes at
// most one Bytemark API call per 10 seconds.
func TestPublicPortMetricsAndReadyz(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	b := startBot(t, "bot", botEnv(slack, fake, rds, "reltrust:"))

	if code := b.get("/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the public port = %d; want 404", code)
	}
	if resp, err := httpClient.Get(b.metricsURL() + "/metrics"); err != nil {
		t.Errorf("GET /metrics on METRICS_ADDR: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "bytebot_bytemark_api_duration_seconds") {
			t.Errorf("GET /metrics on METRICS_ADDR = %d; want 200 with bytebot's metrics:\n%.500s", resp.StatusCode, body)
		}
	}

	// Hammer /readyz and count the calls that reach Bytemark.
	const n, workers = 400, 8
	before := len(fake.Requests())
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range workers {
		wg.Go(func() {
			for range n / workers {
				code := b.get("/readyz")
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	calls := fake.Requests()[before:]
	if codes[http.StatusOK] != n {
		t.Errorf("/readyz answers: %v; want %d × 200", codes, n)
	}
	allowed := 1 + int(took/(10*time.Second))
	if len(calls) > allowed {
		var paths []string
		for _, c := range calls {
			paths = append(paths, c.Method+" "+c.Path)
		}
		t.Errorf("%d /readyz in %s made %d Bytemark API calls; want at most %d (one per 10s): %v", n, took.Round(time.Millisecond), len(calls), allowed, paths)
	}
	t.Logf("%d /readyz in %s: %d Bytemark API calls", n, took.Round(time.Millisecond), len(calls))
}
