package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
)

func noEnv(string) (string, bool) { return "", false }

// TestConsoleScript drives `bytebot console` the way a newcomer would, from
// a script: list, purge, a refused self-approval, approval by a second
// person, and the list again.
func TestConsoleScript(t *testing.T) {
	script := strings.Join([]string{
		"/bytemark list",
		"/bytemark purge web2",
		"approve",
		"as alice: approve",
		"/bytemark list",
		"/bytemark audit web2",
		"/bytemark restrat web1",
	}, "\n")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"console"}, noEnv, strings.NewReader(script), &out, &errb); err != nil {
		t.Fatalf("console: %v\n%s", err, errb.String())
	}
	transcript := out.String()
	steps := strings.Split(transcript, "\nyou> ")
	if got, want := len(steps), 9; got != want { // the banner, seven lines, the end
		t.Fatalf("transcript has %d prompts; want %d:\n%s", got, want, transcript)
	}
	for i, want := range []struct {
		step     int
		contains []string
	}{
		{1, []string{"3 servers", "web1.default.acme", "web2.default.acme", "db1.default.acme"}},
		{2, []string{"Approval needed: purge web2", "root", "25 GiB", "@you", "[Approve: type `approve "}},
		{3, []string{"only you sees this", "can't approve"}},
		{4, []string{"Approved by @alice", "web2 purged"}},
		{5, []string{"2 servers"}},
		{6, []string{"Audit log", "approved", "done"}},
		{7, []string{"Did you mean `restart`?"}},
	} {
		for _, s := range want.contains {
			if !strings.Contains(steps[want.step], s) {
				t.Errorf("step %d (%q) lacks %q:\n%s", i+1, strings.SplitN(steps[want.step], "\n", 2)[0], s, steps[want.step])
			}
		}
	}
	if strings.Contains(steps[5], "web2.default.acme") {
		t.Errorf("web2 still listed after its purge:\n%s", steps[5])
	}
	if strings.Contains(steps[3], "purged") {
		t.Errorf("the requester's own approval ran the purge:\n%s", steps[3])
	}
}

func TestManifestCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"manifest", "--url", "https://bot.example.com"}, noEnv, nil, &out, &out); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `json:"slash_commands"`
		} `json:"features"`
		Settings struct {
			Interactivity struct {
				RequestURL string `json:"request_url"`
			} `json:"interactivity"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("manifest output is not JSON: %v\n%s", err, out.String())
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].URL != "https://bot.example.com/slack/commands" {
		t.Errorf("slash commands = %+v; want /bytemark at https://bot.example.com/slack/commands", m.Features.SlashCommands)
	}
	if got, want := m.Settings.Interactivity.RequestURL, "https://bot.example.com/slack/interactions"; got != want {
		t.Errorf("interactivity URL = %q; want %q", got, want)
	}
	if err := run(context.Background(), []string{"manifest"}, noEnv, nil, &out, &out); err == nil {
		t.Error("manifest without --url succeeded; want an error asking for it")
	}
}

func TestServeRefusesMissingConfiguration(t *testing.T) {
	var errb bytes.Buffer
	err := run(context.Background(), []string{"serve"}, noEnv, nil, &errb, &errb)
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN: missing") {
		t.Fatalf("serve with no environment = %v; want a configuration error naming SLACK_BOT_TOKEN", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serv"}, noEnv, nil, &out, &out); err == nil || !strings.Contains(out.String(), "Usage: bytebot") {
		t.Errorf("run(serv) = %v, output %q; want an error and the usage", err, out.String())
	}
}

// TestBotConfigCarriesEverySetting guards the wiring: a setting read from
// the environment but never handed to the bot would silently do nothing.
func TestBotConfigCarriesEverySetting(t *testing.T) {
	env := validEnv()
	env["WEBHOOK_TOKEN"] = "hook"
	env["SLACK_CHANNEL"] = "C0OPS"
	env["AUTO_REBOOT"] = "on"
	env["REBOOT_METHOD"] = "reset"
	env["REBOOT_ALLOW"] = "default.acme"
	env["ALLOWED_CHANNELS"] = "C0OPS"
	cfg, err := loadConfig(context.Background(), lookupMap(env))
	if err != nil {
		t.Fatal(err)
	}
	bc := botConfig(cfg, commands.Policy{})
	r := bc.Reboot
	if r.WebhookToken != "hook" || r.Mode != "on" || r.Method != "reset" || r.Label != "bytemark_server" ||
		r.Cooldown != cfg.RebootCooldown || r.MaxPerDay != 3 || r.FleetMax != 5 || len(r.Allow) != 1 {
		t.Errorf("botConfig(...).Reboot = %+v; want the REBOOT_* settings", r)
	}
	if bc.GroupMaxAge != time.Hour {
		t.Errorf("botConfig(...).GroupMaxAge = %s; want USERGROUP_MAX_AGE's default 1h", bc.GroupMaxAge)
	}
	if bc.Channel != "C0OPS" || bc.SigningSecret != "sig" || len(bc.Approvers) != 2 || len(bc.AllowedChannels) != 1 {
		t.Errorf("botConfig(...) = %+v; want the Slack settings", bc)
	}
}

// syncBuffer is a bytes.Buffer that serve's logger and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeMetricsApartAndNoCredentialsLogged starts `serve`: /metrics is
// served on METRICS_ADDR and is a 404 on the public listener, and the
// startup logs never show a configured URL's credentials or a secret.
func TestServeMetricsApartAndNoCredentialsLogged(t *testing.T) {
	fake := bytemarktest.NewServer()
	defer fake.Close()
	slackAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"team_id":"T0001","user_id":"UBOT","team":"t","user":"bot","url":"https://t.slack.com/"}`)
	}))
	defer slackAPI.Close()
	env := map[string]string{
		"LISTEN_ADDR":          "127.0.0.1:0",
		"METRICS_ADDR":         "127.0.0.1:0",
		"SLACK_SIGNING_SECRET": "SIGNINGSECRET",
		"SLACK_BOT_TOKEN":      "xoxb-BOTTOKEN",
		"SLACK_API_URL":        slackAPI.URL + "/",
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
	var logs syncBuffer
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
