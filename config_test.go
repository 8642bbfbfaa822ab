package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/commands"
)

func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func validEnv() map[string]string {
	return map[string]string{
		"SLACK_SIGNING_SECRET": "sig",
		"SLACK_BOT_TOKEN":      "xoxb-1",
		"BYTEMARK_API_KEY":     "key",
		"APPROVERS":            "U123,S456",
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(context.Background(), lookupMap(validEnv()))
	if err != nil {
		t.Fatalf("loadConfig(valid) error: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"LISTEN_ADDR", cfg.ListenAddr, ":8080"},
		{"SLACK_API_URL", cfg.SlackAPIURL, "https://slack.com/api/"},
		{"BYTEMARK_API_URL", cfg.BytemarkAPIURL, "https://uk0.bigv.io"},
		{"BYTEMARK_AUTH_URL", cfg.BytemarkAuthURL, "https://auth.bytemark.co.uk"},
		{"BYTEMARK_GROUP", cfg.BytemarkGroup, "default"},
		{"APPROVALS_REQUIRED", cfg.ApprovalsRequired, 1},
		{"APPROVAL_TTL", cfg.ApprovalTTL, 15 * time.Minute},
		{"APPROVAL_ACTIONS", cfg.ApprovalActions, "delete"},
		{"AUTO_REBOOT", cfg.AutoReboot, "approve"},
		{"REBOOT_LABEL", cfg.RebootLabel, "bytemark_server"},
		{"REBOOT_COOLDOWN", cfg.RebootCooldown, 15 * time.Minute},
		{"REBOOT_MAX_PER_DAY", cfg.RebootMaxPerDay, 3},
		{"REBOOT_DELAY", cfg.RebootDelay, time.Duration(0)},
		{"REBOOT_FLEET_MAX", cfg.RebootFleetMax, 5},
		{"REBOOT_FLEET_WINDOW", cfg.RebootFleetWindow, 10 * time.Minute},
		{"REBOOT_METHOD", cfg.RebootMethod, "graceful"},
		{"REDIS_PREFIX", cfg.RedisPrefix, "bytebot:"},
		{"JOB_LEASE", cfg.JobLease, 2 * time.Minute},
		{"APPROVERS", strings.Join(cfg.Approvers, "|"), "U123|S456"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
}

// TestLoadConfigNamesEveryMissingVariable is what an operator sees on the
// first start: one error naming everything that is missing.
func TestLoadConfigNamesEveryMissingVariable(t *testing.T) {
	_, err := loadConfig(context.Background(), lookupMap(map[string]string{"SLACK_CHANNEL": "C123"}))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("loadConfig(empty) = %v; want a *ConfigError", err)
	}
	for _, key := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "BYTEMARK_API_KEY", "WEBHOOK_TOKEN"} {
		if !strings.Contains(ce.Long(), key+": missing") {
			t.Errorf("error does not name %s as missing:\n%s", key, ce.Long())
		}
	}
}

func TestLoadConfigListsEveryInvalidValueWithoutSecrets(t *testing.T) {
	env := validEnv()
	env["APPROVAL_TTL"] = "soon"
	env["REBOOT_MAX_PER_DAY"] = "many"
	env["AUTO_REBOOT"] = "always"
	env["APPROVERS"] = "alice"
	env["SLACK_BOT_TOKEN"] = "xoxp-SECRET-user-token"
	env["REDIS_URL"] = "http://:SECRETPASS@redis"
	_, err := loadConfig(context.Background(), lookupMap(env))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("loadConfig = %v; want a *ConfigError", err)
	}
	msg := ce.Long()
	for _, want := range []string{
		`APPROVAL_TTL: invalid value "soon"`,
		`REBOOT_MAX_PER_DAY: invalid value "many"`,
		`AUTO_REBOOT: "always" is not one of on, approve, dry-run, off`,
		`APPROVERS: "alice" is not a Slack user ID`,
		"SLACK_BOT_TOKEN: must start with xoxb-",
		"REDIS_URL: not a redis:// or rediss:// URL",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SECRET") {
		t.Errorf("error echoes a secret:\n%s", msg)
	}
}

func TestLoadConfigLogins(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]string
		unset   []string
		wantErr string
	}{
		{"api key", nil, nil, ""},
		{"user and password", map[string]string{"BYTEMARK_USERNAME": "u", "BYTEMARK_PASSWORD": "p"}, []string{"BYTEMARK_API_KEY"}, ""},
		{"user without password", map[string]string{"BYTEMARK_USERNAME": "u"}, []string{"BYTEMARK_API_KEY"}, "BYTEMARK_PASSWORD: missing"},
		{"both ways", map[string]string{"BYTEMARK_USERNAME": "u", "BYTEMARK_PASSWORD": "p"}, nil, "set one way of logging in"},
		{"socket mode needs no signing secret", map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, []string{"SLACK_SIGNING_SECRET"}, ""},
		{"webhooks need a channel", map[string]string{"WEBHOOK_TOKEN": "t"}, nil, "SLACK_CHANNEL: missing"},
		{"team ID", map[string]string{"SLACK_TEAM_ID": "T0ACME"}, nil, ""},
		{"team ID not a team", map[string]string{"SLACK_TEAM_ID": "C0ACME"}, nil, "SLACK_TEAM_ID: \"C0ACME\" is not a Slack workspace ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv()
			for k, v := range tt.set {
				env[k] = v
			}
			for _, k := range tt.unset {
				delete(env, k)
			}
			_, err := loadConfig(context.Background(), lookupMap(env))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("loadConfig error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("loadConfig error = %v; want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestLoadConfigPlainHTTPOnlyOnLoopback: a Slack or Bytemark URL over plain
// http:// would send the bot token, the API key or a password in clear; it
// is accepted only for this machine (tests, a local fake), and every
// refused URL is named in the one list of problems, without credentials.
func TestLoadConfigPlainHTTPOnlyOnLoopback(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8081", "http://127.9.9.9/api/", "http://[::1]:8081", "http://localhost:8081/", "https://api.example.com"} {
		env := validEnv()
		env["SLACK_API_URL"], env["BYTEMARK_API_URL"], env["BYTEMARK_AUTH_URL"] = ok, ok, ok
		if _, err := loadConfig(context.Background(), lookupMap(env)); err != nil {
			t.Errorf("loadConfig with URLs %s: %v; want it accepted", ok, err)
		}
	}
	env := validEnv()
	env["SLACK_API_URL"] = "http://slack.example.com/api/"
	env["BYTEMARK_API_URL"] = "http://user:SECRETPASS@10.0.0.1:8081"
	env["BYTEMARK_AUTH_URL"] = "http://localhost.evil.example"
	env["APPROVAL_TTL"] = "soon"
	_, err := loadConfig(context.Background(), lookupMap(env))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("loadConfig = %v; want a *ConfigError", err)
	}
	msg := ce.Long()
	for _, want := range []string{
		`SLACK_API_URL: "http://slack.example.com/api/": plain http:// is allowed only for loopback hosts`,
		`BYTEMARK_API_URL: "http://REDACTED@10.0.0.1:8081": plain http:// is allowed only for loopback hosts`,
		`BYTEMARK_AUTH_URL: "http://localhost.evil.example": plain http://`,
		`BYTEMARK_API_URL: "http://REDACTED@10.0.0.1:8081" carries a user and password`,
		`APPROVAL_TTL: invalid value "soon"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SECRETPASS") || strings.Contains(msg, "user:") {
		t.Errorf("error shows a URL's credentials:\n%s", msg)
	}
}

// TestLoadConfigNeverEchoesURLCredentials: a URL that is wrong for another
// reason is shown without its user and password, or not at all.
func TestLoadConfigNeverEchoesURLCredentials(t *testing.T) {
	env := validEnv()
	env["SLACK_API_URL"] = "ftp://bot:SECRETPASS@slack.example.com/"
	env["BYTEMARK_API_URL"] = "https://user:SECRET%zzPASS@api.example.com"
	env["REDIS_URL"] = "redis://:SECRETPASS@redis.example.com:6379/bad"
	_, err := loadConfig(context.Background(), lookupMap(env))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("loadConfig = %v; want a *ConfigError", err)
	}
	msg := ce.Long()
	for _, want := range []string{`SLACK_API_URL: "ftp://REDACTED@slack.example.com/" is not an http(s) URL`, "BYTEMARK_API_URL: not a URL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SECRET") {
		t.Errorf("error shows a URL's credentials:\n%s", msg)
	}
}

// TestPolicyFileConflicts: POLICY_FILE replaces the approval and allowlist
// settings; a start with both fails and lists every one that is set.
func TestPolicyFileConflicts(t *testing.T) {
	env := validEnv() // sets APPROVERS
	env["POLICY_FILE"] = "policy.yaml"
	env["ALLOWED_CHANNELS"] = "C0OPS"
	env["PROTECTED_SERVERS"] = "db1.default.acme"
	_, err := loadConfig(context.Background(), lookupMap(env))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("loadConfig = %v; want a ConfigError", err)
	}
	want := "POLICY_FILE: the policy file replaces APPROVERS, ALLOWED_CHANNELS, PROTECTED_SERVERS; unset them"
	if !strings.Contains(ce.Long(), want) {
		t.Errorf("error lacks %q:\n%s", want, ce.Long())
	}

	delete(env, "APPROVERS")
	delete(env, "ALLOWED_CHANNELS")
	delete(env, "PROTECTED_SERVERS")
	env["ALLOWED_USERS"] = "" // set but empty counts as unset
	cfg, err := loadConfig(context.Background(), lookupMap(env))
	if err != nil {
		t.Fatalf("loadConfig(POLICY_FILE alone) = %v", err)
	}
	if got, want := cfg.PolicyFile, "policy.yaml"; got != want {
		t.Errorf("PolicyFile = %q; want %q", got, want)
	}
	if got, want := cfg.BlastRadius, 3; got != want {
		t.Errorf("BLAST_RADIUS = %d; want %d", got, want)
	}
}

func TestPolicySettingsChecked(t *testing.T) {
	env := validEnv()
	env["PROTECTED_SERVERS"] = "db1.default.acme,web*"
	env["BLAST_RADIUS"] = "0"
	_, err := loadConfig(context.Background(), lookupMap(env))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("loadConfig = %v; want a ConfigError", err)
	}
	for _, want := range []string{
		`PROTECTED_SERVERS: server glob "web*" must have three parts`,
		"BLAST_RADIUS: 0 must be at least 1",
	} {
		if !strings.Contains(ce.Long(), want) {
			t.Errorf("error lacks %q:\n%s", want, ce.Long())
		}
	}
}

// TestConfigDefaultsAgree: a setting's default is the same whether it
// comes from the environment (config.go) or from the bot's own (bot.New
// with the field unset). Both now take it from one source, the bot's
// Default constants (sharedDefaults); this checks the wiring.
func TestConfigDefaultsAgree(t *testing.T) {
	cfg, err := loadConfig(context.Background(), lookupMap(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := commands.ParsePolicy(cfg.ApprovalActions)
	if err != nil {
		t.Fatal(err)
	}
	fromEnv := botConfig(cfg, policy)
	own := bot.New(bot.Config{}, nil, nil, nil, nil).Config
	envReboot := monitorConfig(cfg)
	reboot := monitor.Config{}.WithDefaults()
	for _, c := range []struct {
		name          string
		fromEnv, bots any
	}{
		{"APPROVALS_REQUIRED", fromEnv.ApprovalsRequired, own.ApprovalsRequired},
		{"APPROVAL_TTL", fromEnv.ApprovalTTL, own.ApprovalTTL},
		{"USERGROUP_MAX_AGE", fromEnv.GroupMaxAge, own.GroupMaxAge},
		{"WORKERS", fromEnv.Workers, own.Workers},
		{"PURGE_GRACE", fromEnv.PurgeGrace, own.PurgeGrace},
		{"AUTO_REBOOT", envReboot.Mode, reboot.Mode},
		{"REBOOT_LABEL", envReboot.Label, reboot.Label},
		{"REBOOT_METHOD", envReboot.Method, reboot.Method},
		{"REBOOT_COOLDOWN", envReboot.Cooldown, reboot.Cooldown},
		{"REBOOT_MAX_PER_DAY", envReboot.MaxPerDay, reboot.MaxPerDay},
		{"REBOOT_DELAY", envReboot.Delay, reboot.Delay},
		{"REBOOT_FLEET_MAX", envReboot.FleetMax, reboot.FleetMax},
		{"REBOOT_FLEET_WINDOW", envReboot.FleetWindow, reboot.FleetWindow},
	} {
		if c.fromEnv != c.bots {
			t.Errorf("%s: the environment's default is %v, the bot's %v", c.name, c.fromEnv, c.bots)
		}
	}
}
