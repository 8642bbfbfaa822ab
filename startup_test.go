package main

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/internal/logtest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestServeChecksLoginsAtStart: serve logs in to Bytemark and asks Slack's
// auth.test as it starts; when they fail it says so loudly, with what to
// fix, and keeps serving, with /readyz not ready. With nobody in
// APPROVERS it warns that requests needing approval can never run.
func TestServeChecksLoginsAtStart(t *testing.T) {
	fake := bytemarktest.NewServer()
	defer fake.Close()
	api := slacktest.New(t, slacktest.Options{TeamID: "T0001", Token: "*"})
	api.FailWith("auth.test", "invalid_auth") // a revoked token
	env := map[string]string{
		"SLACK_SIGNING_SECRET": "sig",
		"SLACK_BOT_TOKEN":      "xoxb-revoked",
		"SLACK_API_URL":        api.URL(),
		"BYTEMARK_API_URL":     fake.URL(),
		"BYTEMARK_AUTH_URL":    fake.URL(),
		"BYTEMARK_API_KEY":     "not-a-key",
		"LISTEN_ADDR":          "127.0.0.1:0",
		"METRICS_ADDR":         "127.0.0.1:0",
		"LOG_FORMAT":           "text",
	}
	var logs logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, lookupMap(env), nil, &logs, &logs) }()
	defer func() {
		cancel()
		<-done
	}()
	waitLog := func(what string, re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if m := re.FindStringSubmatch(logs.String()); m != nil {
				return m
			}
			select {
			case err := <-done:
				t.Fatalf("serve ended: %v\n%s", err, logs.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		t.Fatalf("no %s in the log:\n%s", what, logs.String())
		return nil
	}
	waitLog("Bytemark login failure", regexp.MustCompile(`level=ERROR msg="Bytemark login failed at start[^\n]*BYTEMARK_API_KEY`))
	waitLog("Slack auth.test failure", regexp.MustCompile(`level=ERROR msg="Slack auth.test failed at start[^\n]*SLACK_BOT_TOKEN`))
	waitLog("warning about APPROVERS", regexp.MustCompile(`level=WARN msg="APPROVERS is empty[^\n]*can never run`))
	addr := waitLog("serving address", regexp.MustCompile(`msg="bytebot serving" addr=(\S+)`))[1]
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("/readyz = 200 with a Bytemark login that fails; want not ready")
	}
	if strings.Contains(logs.String(), "not-a-key") || strings.Contains(logs.String(), "xoxb-revoked") {
		t.Errorf("a secret reached the log:\n%s", logs.String())
	}
}

// TestFirstAnswerAsksOnce: the start-up check and learning the workspace
// share one auth.test once it has answered; a failure is asked again.
func TestFirstAnswerAsksOnce(t *testing.T) {
	calls := 0
	fail := true
	ask := firstAnswer(func(context.Context) (string, error) {
		calls++
		if fail {
			return "", errors.New("slack down")
		}
		return "T1", nil
	})
	if _, err := ask(t.Context()); err == nil {
		t.Fatal("the failure wasn't passed on")
	}
	fail = false
	for range 3 {
		if team, err := ask(t.Context()); team != "T1" || err != nil {
			t.Fatalf("ask = %q, %v", team, err)
		}
	}
	if calls != 2 {
		t.Errorf("auth.test asked %d times; want 2 (the failure, then once)", calls)
	}
}
