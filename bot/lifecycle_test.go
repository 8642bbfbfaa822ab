package bot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
)

// TestHandBack checks that a worker that is stopping hands back a job it
// claimed but had not started, so that another worker runs it as a first
// attempt.
func TestHandBack(t *testing.T) {
	h := newHarness(t, withoutExecutor())
	h.mustSlash(userAsker, chanOps, "restart web2")
	job, err := h.store.Claim(context.Background(), "test-1", time.Second)
	if err != nil || job == nil {
		t.Fatalf("Claim = %v, %v", job, err)
	}
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	h.s.Execute(stopped, "test-1", job)
	if n := h.writes(); n != 0 {
		t.Errorf("a stopping worker made %d writes", n)
	}
	again, err := h.store.Claim(context.Background(), "test-2", time.Second)
	if err != nil || again == nil {
		t.Fatalf("Claim after hand-back = %v, %v; want the job back", again, err)
	}
	if again.ID != job.ID || again.Retry {
		t.Errorf("reclaimed job %s (retry %v); want %s as a first run", again.ID, again.Retry, job.ID)
	}
}

// TestShutdownFinishesJob checks that stopping the executor lets a running
// action finish and post its result.
func TestShutdownFinishesJob(t *testing.T) {
	h := newHarness(t, withoutExecutor())
	h.fake.SetPowerdownDelay(500 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.s.Run(ctx) }()
	h.mustSlash(userAsker, chanOps, "restart web2")
	h.waitFor("the restart to begin", func() bool { return h.fake.Calls("POST", "signal") > 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if len(h.slack.Find("chat.postMessage", "restarted")) == 0 {
		t.Errorf("the running restart did not finish and report before Run returned:\n%s", h.slack.Dump())
	}
}

// TestOneActionPerServer checks that two replicas never run two actions on
// one server at once: two restarts of web2, each taken by either replica,
// run one after the other.
func TestOneActionPerServer(t *testing.T) {
	h := newHarness(t)
	// A second replica sharing Redis, Bytemark and Slack.
	other := bot.New(h.s.Config, h.cloud, h.store, h.s.Poster, h.s.Logger)
	other.SetClaimBlock(h.s.ClaimBlock())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); other.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; other.Close() })

	h.fake.SetPowerdownDelay(300 * time.Millisecond)
	// Two people: one person asking twice within repeatWindow is answered
	// that it is already being done.
	h.mustSlash(userAsker, chanOps, "restart web2")
	h.mustSlash(userOther, chanOps, "restart web2")
	h.waitFor("both restarts", func() bool { return len(h.slack.Find("chat.postMessage", "restarted")) == 2 })

	// The writes to web2 must be signal, start, signal, start: the second
	// restart began only after the first one ended.
	var seq []string
	for _, r := range h.fake.Requests() {
		if !strings.Contains(r.Path, "/web2") {
			continue
		}
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/signal"):
			seq = append(seq, "signal")
		case r.Method == http.MethodPut && strings.Contains(r.Body, `"power_on":true`):
			seq = append(seq, "start")
		}
	}
	if got, want := strings.Join(seq, " "), "signal start signal start"; got != want {
		t.Errorf("writes to web2 = %q; want %q (one restart at a time)", got, want)
	}
}

// TestJobTimeoutReported checks that a job whose time runs out still tells
// the channel: the news of a failure must not die with the job's context.
func TestJobTimeoutReported(t *testing.T) {
	h := newHarness(t, withConfig(func(c *bot.Config) { c.JobTimeout = 700 * time.Millisecond }))
	h.fake.SetLatency(300 * time.Millisecond)
	h.mustSlash(userAsker, chanOps, "restart web1")
	h.waitPost(":x:", "restart web1")
}

// TestShutdownTimeoutInterruptsJob checks that Shutdown bounds the wait for
// a running job (SHUTDOWN_TIMEOUT): when its time is up, the job is
// interrupted and handed back, and another process takes it up as a retry.
func TestShutdownTimeoutInterruptsJob(t *testing.T) {
	h := newHarness(t, withoutExecutor())
	h.fake.SetPowerdownDelay(time.Hour) // the restart waits for power off until stopped
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.s.Run(ctx) }()
	h.mustSlash(userAsker, chanOps, "restart web2")
	h.waitFor("the restart to begin", func() bool { return h.fake.Calls("POST", "signal") > 0 })
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer scancel()
	stopped := make(chan struct{})
	go func() { h.s.Shutdown(sctx); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("Shutdown did not interrupt the running job when its time was up")
	}
	if err := <-ran; err != nil {
		t.Errorf("Run = %v", err)
	}
	if n := len(h.slack.Find("chat.postMessage", "restarted")); n != 0 {
		t.Errorf("the interrupted restart reported success %d times", n)
	}
	again, err := h.store.Claim(context.Background(), "another-process", time.Second)
	if err != nil || again == nil {
		t.Fatalf("Claim after the shutdown = %v, %v; want the interrupted job back", again, err)
	}
	if !again.Retry || again.Command != "restart web2" {
		t.Errorf("reclaimed job %q (retry %v); want the restart, as a retry", again.Command, again.Retry)
	}
}
