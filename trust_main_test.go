package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/logtest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestBotConfigCarriesUsergroupMaxAge guards the wiring of USERGROUP_MAX_AGE.
func TestBotConfigCarriesUsergroupMaxAge(t *testing.T) {
	env := validEnv()
	env["USERGROUP_MAX_AGE"] = "30m"
	cfg, err := loadConfig(context.Background(), lookupMap(env))
	if err != nil {
		t.Fatal(err)
	}
	if bc := botConfig(cfg, commands.Policy{}); bc.GroupMaxAge != 30*time.Minute {
		t.Errorf("botConfig(...).GroupMaxAge = %s; want USERGROUP_MAX_AGE's 30m", bc.GroupMaxAge)
	}
	if cfg, err := loadConfig(context.Background(), lookupMap(validEnv())); err != nil || cfg.UsergroupMaxAge != time.Hour {
		t.Errorf("USERGROUP_MAX_AGE default = %v, %v; want 1h", cfg, err)
	}
}

// TestServeMetricsApartAndNoCredentialsLogged starts `serve`: /metrics is
// served on METRICS_ADDR and is a 404 on the public listener, and the
// startup logs never show a configured URL's credentials or a secret.
func TestServeMetricsApartAndNoCredentialsLogged(t *testing.T) {
	fake := bytemarktest.NewServer()
	defer fake.Close()
	slackAPI := slacktest.New(t, slacktest.Options{Token: "xoxb-BOTTOKEN"})
	env := map[string]string{
		"LISTEN_ADDR":          "127.0.0.1:0",
		"METRICS_ADDR":         "127.0.0.1:0",
		"SLACK_SIGNING_SECRET": "SIGNINGSECRET",
		"SLACK_BOT_TOKEN":      "xoxb-BOTTOKEN",
		"SLACK_API_URL":        slackAPI.URL(),
		"BYTEMARK_API_URL":     fake.URL(),
		"BYTEMARK_AUTH_URL":    fake.URL(),
		"BYTEMARK_USERNAME":    bytemarktest.Username,
		"BYTEMARK_PASSWORD":    bytemarktest.Password,
		"BYTEMARK_ACCOUNT":     "acme",
		// A Redis that isn't there, with a password in its URL.
		"REDIS_URL":  "redis://:REDISPASS@127.0.0.1:1/0",
		"LOG_LEVEL":  "debug",
		"LOG_FORMAT": "json",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs logtest.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, lookupMap(env), nil, &logs, &logs) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		for _, secret := range []string{"REDISPASS", "SIGNINGSECRET", "BOTTOKEN", bytemarktest.Password} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the logs show a secret (%s):\n%s", secret, logs.String())
			}
		}
	}()
	var serving struct{ Addr, MetricsAddr string }
	deadline := time.Now().Add(20 * time.Second)
	for serving.Addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve ended: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		for _, line := range strings.Split(logs.String(), "\n") {
			var l struct {
				Msg         string `json:"msg"`
				Addr        string `json:"addr"`
				MetricsAddr string `json:"metrics_addr"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "bytebot serving" {
				serving.Addr, serving.MetricsAddr = l.Addr, l.MetricsAddr
			}
		}
	}
	get := func(addr, path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(serving.Addr, "/healthz"); code != http.StatusOK {
		t.Errorf("public GET /healthz = %d; want 200", code)
	}
	if code, _ := get(serving.Addr, "/metrics"); code != http.StatusNotFound {
		t.Errorf("public GET /metrics = %d; want 404", code)
	}
	if serving.MetricsAddr == "" || serving.MetricsAddr == serving.Addr {
		t.Fatalf("serve logged metrics_addr %q (public %q); want a listener of its own", serving.MetricsAddr, serving.Addr)
	}
	if code, body := get(serving.MetricsAddr, "/metrics"); code != http.StatusOK || !strings.Contains(body, "bytebot_commands_total") && !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics on METRICS_ADDR = %d; want 200 with the metrics", code)
	}
	if code, _ := get(serving.MetricsAddr, "/healthz"); code != http.StatusNotFound {
		t.Errorf("GET /healthz on METRICS_ADDR = %d; want 404: it serves /metrics alone", code)
	}
}

func TestLoadConfigMetricsAddr(t *testing.T) {
	cfg, err := loadConfig(context.Background(), lookupMap(validEnv()))
	if err != nil || cfg.MetricsAddr != ":9091" {
		t.Fatalf("METRICS_ADDR = %v, %v; want the default :9091", cfg, err)
	}
	env := validEnv()
	env["LISTEN_ADDR"], env["METRICS_ADDR"] = ":8080", ":8080"
	if _, err := loadConfig(context.Background(), lookupMap(env)); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("METRICS_ADDR = LISTEN_ADDR: %v; want it refused", err)
	}
}
