package bot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/internal/bottest"
)

// TestHandBack checks that a worker that is stopping hands back a job it
// claimed but had not started, so that another worker runs it as a first
// attempt.
func TestHandBack(t *testing.T) {
	h := newHarness(t, bottest.WithoutExecutor())
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web2")
	job, err := h.Store.Claim(context.Background(), "test-1", time.Second)
	if err != nil || job == nil {
		t.Fatalf("Claim = %v, %v", job, err)
	}
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	h.Server.Execute(stopped, "test-1", job)
	if n := h.Writes(); n != 0 {
		t.Errorf("a stopping worker made %d writes", n)
	}
	again, err := h.Store.Claim(context.Background(), "test-2", time.Second)
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
	h := newHarness(t, bottest.WithoutExecutor())
	h.Fake.SetPowerdownDelay(500 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Server.Run(ctx) }()
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web2")
	h.WaitFor("the restart to begin", func() bool { return h.Fake.Calls("POST", "signal") > 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if len(h.Slack.Find("chat.postMessage", "restarted")) == 0 {
		t.Errorf("the running restart did not finish and report before Run returned:\n%s", h.Slack.Dump())
	}
}

// TestOneActionPerServer checks that two replicas never run two actions on
// one server at once: two restarts of web2, each taken by either replica,
// run one after the other.
func TestOneActionPerServer(t *testing.T) {
	h := newHarness(t)
	// A second replica sharing Redis, Bytemark and Slack.
	other := bot.New(h.Server.Config, h.Cloud, h.Store, h.Server.Poster, h.Server.Logger)
	other.SetClaimBlock(h.Server.ClaimBlock())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); other.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; other.Close() })

	h.Fake.SetPowerdownDelay(300 * time.Millisecond)
	// Two people: one person asking twice within repeatWindow is answered
	// that it is already being done.
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web2")
	h.MustSlash(bottest.UserOther, bottest.ChanOps, "restart web2")
	h.WaitFor("both restarts", func() bool { return len(h.Slack.Find("chat.postMessage", "restarted")) == 2 })

	// The writes to web2 must be signal, start, signal, start: the second
	// restart began only after the first one ended.
	var seq []string
	for _, r := range h.Fake.Requests() {
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
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.JobTimeout = 700 * time.Millisecond }))
	h.Fake.SetLatency(300 * time.Millisecond)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web1")
	h.WaitPost(":x:", "restart web1")
}

// TestShutdownTimeoutInterruptsJob checks that Shutdown bounds the wait for
// a running job (SHUTDOWN_TIMEOUT): when its time is up, the job is
// interrupted and handed back, and another process takes it up as a retry.
func TestShutdownTimeoutInterruptsJob(t *testing.T) {
	h := newHarness(t, bottest.WithoutExecutor())
	h.Fake.SetPowerdownDelay(time.Hour) // the restart waits for power off until stopped
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Server.Run(ctx) }()
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web2")
	h.WaitFor("the restart to begin", func() bool { return h.Fake.Calls("POST", "signal") > 0 })
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer scancel()
	stopped := make(chan struct{})
	go func() { h.Server.Shutdown(sctx); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("Shutdown did not interrupt the running job when its time was up")
	}
	if err := <-ran; err != nil {
		t.Errorf("Run = %v", err)
	}
	if n := len(h.Slack.Find("chat.postMessage", "restarted")); n != 0 {
		t.Errorf("the interrupted restart reported success %d times", n)
	}
	again, err := h.Store.Claim(context.Background(), "another-process", time.Second)
	if err != nil || again == nil {
		t.Fatalf("Claim after the shutdown = %v, %v; want the interrupted job back", again, err)
	}
	if !again.Retry || again.Command != "restart web2" {
		t.Errorf("reclaimed job %q (retry %v); want the restart, as a retry", again.Command, again.Retry)
	}
}
