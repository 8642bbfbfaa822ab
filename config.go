package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
	"github.com/bytebot/bytebot/internal/redisconn"
)

// Config is every setting of the service, read from the environment. The
// names are part of the contract in DESIGN.md; README.md documents each one.
// Defaults are in the env tags, except those the bot shares, which come
// from the bot's own (sharedDefaults): each default has one source.
type Config struct {
	ListenAddr string `env:"LISTEN_ADDR, default=:8080"`
	// MetricsAddr serves GET /metrics alone, apart from the public listener.
	MetricsAddr string `env:"METRICS_ADDR, default=:9091"`

	SlackSigningSecret string `env:"SLACK_SIGNING_SECRET" secret:"true"`
	SlackBotToken      string `env:"SLACK_BOT_TOKEN" secret:"true"`
	SlackAppToken      string `env:"SLACK_APP_TOKEN" secret:"true"`
	SlackAPIURL        string `env:"SLACK_API_URL, default=https://slack.com/api/"`
	SlackChannel       string `env:"SLACK_CHANNEL"`
	SlackTeamID        string `env:"SLACK_TEAM_ID"` // unset: learned from auth.test at start

	BytemarkAPIURL   string `env:"BYTEMARK_API_URL, default=https://uk0.bigv.io"`
	BytemarkAuthURL  string `env:"BYTEMARK_AUTH_URL, default=https://auth.bytemark.co.uk"`
	BytemarkAPIKey   string `env:"BYTEMARK_API_KEY" secret:"true"`
	BytemarkUsername string `env:"BYTEMARK_USERNAME"`
	BytemarkPassword string `env:"BYTEMARK_PASSWORD" secret:"true"`
	BytemarkAccount  string `env:"BYTEMARK_ACCOUNT"`
	BytemarkGroup    string `env:"BYTEMARK_GROUP, default=default"`

	RedisURL    string `env:"REDIS_URL" secret:"true"` // may carry a password
	RedisPrefix string `env:"REDIS_PREFIX, default=bytebot:"`

	Approvers         []string      `env:"APPROVERS"`
	ApprovalsRequired int           `env:"APPROVALS_REQUIRED"`
	ApprovalTTL       time.Duration `env:"APPROVAL_TTL"`
	ApprovalActions   string        `env:"APPROVAL_ACTIONS, default=delete"`
	AllowedUsers      []string      `env:"ALLOWED_USERS"`
	AllowedChannels   []string      `env:"ALLOWED_CHANNELS"`
	UsergroupMaxAge   time.Duration `env:"USERGROUP_MAX_AGE"`
	// PolicyFile is a YAML policy (commands/policy); with it, the settings
	// in policyFileConflicts must be unset.
	PolicyFile       string   `env:"POLICY_FILE"`
	ProtectedServers []string `env:"PROTECTED_SERVERS"`
	BlastRadius      int      `env:"BLAST_RADIUS, default=3"`
	// PurgeGrace: an approved purge of a live server soft-deletes it and
	// purges it this much later unless someone presses Undo; 0s purges at once.
	PurgeGrace time.Duration `env:"PURGE_GRACE, default=30m"`

	// The monitoring webhooks (bot/monitor; monitorConfig in main.go). With
	// neither WEBHOOK_TOKEN nor GRAFANA_HMAC_SECRET, every delivery is
	// refused (401). The defaults are monitor.Config's (a test checks).
	WebhookToken      string        `env:"WEBHOOK_TOKEN" secret:"true"`
	GrafanaHMACSecret string        `env:"GRAFANA_HMAC_SECRET" secret:"true"`
	AutoReboot        string        `env:"AUTO_REBOOT"`
	RebootLabel       string        `env:"REBOOT_LABEL"`
	RebootCooldown    time.Duration `env:"REBOOT_COOLDOWN"`
	RebootMaxPerDay   int           `env:"REBOOT_MAX_PER_DAY"`
	RebootDelay       time.Duration `env:"REBOOT_DELAY"`
	RebootFleetMax    int           `env:"REBOOT_FLEET_MAX"`
	RebootFleetWindow time.Duration `env:"REBOOT_FLEET_WINDOW"`
	RebootMethod      string        `env:"REBOOT_METHOD"`
	RebootAllow       []string      `env:"REBOOT_ALLOW"`

	// GrafanaAllowNoTimestamp accepts Grafana signatures made without
	// X-Grafana-Alerting-Timestamp, which could be replayed.
	GrafanaAllowNoTimestamp bool `env:"GRAFANA_ALLOW_NO_TIMESTAMP, default=false"`

	Workers         int           `env:"WORKERS"`
	JobLease        time.Duration `env:"JOB_LEASE, default=2m"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=25s"` // bounds the whole stop: requests in flight, then running jobs
	LogLevel        string        `env:"LOG_LEVEL, default=info"`
	LogFormat       string        `env:"LOG_FORMAT, default=json"`
}

// SocketMode reports whether Slack is reached over Socket Mode.
func (c *Config) SocketMode() bool { return c.SlackAppToken != "" }

// WebhooksEnabled reports whether the monitoring webhooks are configured.
func (c *Config) WebhooksEnabled() bool { return c.WebhookToken != "" || c.GrafanaHMACSecret != "" }

// loadConfig reads the configuration from lookup (os.LookupEnv in main) and
// checks it. It returns one error that names every missing or invalid
// setting at once, so that an operator fixes them all in one go. Values of
// secrets are never part of an error.
func loadConfig(ctx context.Context, lookup func(string) (string, bool)) (*Config, error) {
	cfg, problems, err := readConfig(ctx, lookup)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

// readConfig is loadConfig, returning the configuration as read (bad
// values left at their zero values) beside its problems, so that serve can
// add what only trying finds (a listen address in use) to the one list.
func readConfig(ctx context.Context, lookup func(string) (string, bool)) (*Config, []string, error) {
	var problems []string
	env := map[string]string{}
	for _, key := range envKeys() {
		if v, ok := lookup(key); ok {
			env[key] = v
		}
	}
	set := maps.Clone(env)
	// The defaults the bot shares fill in what is unset, for decoding only
	// (policyFileConflicts must still see what was set).
	decode := maps.Clone(env)
	for key, v := range sharedDefaults() {
		if _, ok := decode[key]; !ok {
			decode[key] = v
		}
	}
	env = decode
	cfg := &Config{}
	// go-envconfig stops at the first value it cannot decode; drop that value,
	// note it, and decode again, so that every bad value is reported.
	for range len(envKeys()) + 1 {
		*cfg = Config{}
		err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: envconfig.MapLookuper(env)})
		if err == nil {
			break
		}
		key, secret := fieldKey(err)
		if key == "" {
			return nil, nil, fmt.Errorf("configuration: %w", err)
		}
		if secret {
			problems = append(problems, key+": invalid value")
		} else {
			problems = append(problems, fmt.Sprintf("%s: invalid value %q (%s)", key, env[key], decodeReason(err)))
		}
		delete(env, key)
		if d, ok := sharedDefaults()[key]; ok {
			env[key] = d // its default, as for any other setting
		}
	}
	problems = append(problems, cfg.check()...)
	problems = append(problems, policyFileConflicts(set)...)
	return cfg, problems, nil
}

// A ConfigError lists every problem found in the configuration.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "configuration: " + strings.Join(e.Problems, "; ")
}

// Long renders the problems one per line, for the startup message.
func (e *ConfigError) Long() string {
	var b strings.Builder
	b.WriteString("bytebot cannot start; fix these settings (see README.md, Configuration):\n")
	for _, p := range e.Problems {
		b.WriteString("  - " + p + "\n")
	}
	return b.String()
}

var (
	slackUserOrGroup = regexp.MustCompile(`^[UWS][A-Z0-9]{2,}$`)
	slackUser        = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackChannel     = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	slackTeam        = regexp.MustCompile(`^T[A-Z0-9]{2,}$`)
)

// check applies the rules that go beyond decoding: what is required, and
// which values are allowed.
func (c *Config) check() []string {
	var p []string
	missing := func(key, why string) { p = append(p, key+": missing; "+why) }

	if c.SlackBotToken == "" {
		missing("SLACK_BOT_TOKEN", "the xoxb- token the bot posts with")
	} else if !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
		p = append(p, "SLACK_BOT_TOKEN: must start with xoxb-")
	}
	if c.SlackAppToken != "" && !strings.HasPrefix(c.SlackAppToken, "xapp-") {
		p = append(p, "SLACK_APP_TOKEN: must start with xapp-")
	}
	if c.SlackSigningSecret == "" && !c.SocketMode() {
		missing("SLACK_SIGNING_SECRET", "it verifies every request from Slack (or set SLACK_APP_TOKEN for Socket Mode)")
	}
	if c.BytemarkAPIKey == "" && (c.BytemarkUsername == "" || c.BytemarkPassword == "") {
		switch {
		case c.BytemarkUsername != "":
			missing("BYTEMARK_PASSWORD", "BYTEMARK_USERNAME is set without it")
		case c.BytemarkPassword != "":
			missing("BYTEMARK_USERNAME", "BYTEMARK_PASSWORD is set without it")
		default:
			missing("BYTEMARK_API_KEY", "or BYTEMARK_USERNAME and BYTEMARK_PASSWORD")
		}
	}
	if c.BytemarkAPIKey != "" && c.BytemarkUsername != "" {
		p = append(p, "BYTEMARK_API_KEY and BYTEMARK_USERNAME: set one way of logging in, not both")
	}
	for _, u := range []struct{ key, val string }{
		{"SLACK_API_URL", c.SlackAPIURL}, {"BYTEMARK_API_URL", c.BytemarkAPIURL}, {"BYTEMARK_AUTH_URL", c.BytemarkAuthURL},
	} {
		parsed, err := url.Parse(u.val)
		switch {
		case err != nil:
			p = append(p, u.key+": not a URL") // it may hold credentials: never echo it
		case (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "":
			p = append(p, fmt.Sprintf("%s: %q is not an http(s) URL", u.key, redactURL(parsed)))
		case parsed.Scheme == "http" && !isLoopback(parsed.Hostname()):
			p = append(p, fmt.Sprintf("%s: %q: plain http:// is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost), "+
				"such as a local fake; use https://", u.key, redactURL(parsed)))
		}
		if err == nil && parsed.User != nil {
			p = append(p, fmt.Sprintf("%s: %q carries a user and password, which are not used; remove them "+
				"(Bytemark logins go in BYTEMARK_API_KEY or BYTEMARK_USERNAME and BYTEMARK_PASSWORD)", u.key, redactURL(parsed)))
		}
	}
	if c.RedisURL != "" {
		if _, err := redisconn.Parse(c.RedisURL); err != nil {
			p = append(p, err.Error()) // says what is wrong, never echoes the URL (it may hold a password)
		}
	}
	for _, id := range c.Approvers {
		if !slackUserOrGroup.MatchString(id) {
			p = append(p, fmt.Sprintf("APPROVERS: %q is not a Slack user ID (U…) or user-group ID (S…)", id))
		}
	}
	for _, id := range c.AllowedUsers {
		if !slackUser.MatchString(id) {
			p = append(p, fmt.Sprintf("ALLOWED_USERS: %q is not a Slack user ID (U…)", id))
		}
	}
	for _, id := range c.AllowedChannels {
		if !slackChannel.MatchString(id) {
			p = append(p, fmt.Sprintf("ALLOWED_CHANNELS: %q is not a Slack channel ID (C…, G… or D…)", id))
		}
	}
	if c.SlackTeamID != "" && !slackTeam.MatchString(c.SlackTeamID) {
		p = append(p, fmt.Sprintf("SLACK_TEAM_ID: %q is not a Slack workspace ID (T…)", c.SlackTeamID))
	}
	if c.SlackChannel != "" && !slackChannel.MatchString(c.SlackChannel) {
		p = append(p, fmt.Sprintf("SLACK_CHANNEL: %q is not a Slack channel ID (C…)", c.SlackChannel))
	}
	if c.ApprovalsRequired < 1 || c.ApprovalsRequired > 10 {
		p = append(p, fmt.Sprintf("APPROVALS_REQUIRED: %d is not between 1 and 10", c.ApprovalsRequired))
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			p = append(p, fmt.Sprintf("%s: %s must be positive", key, d))
		}
	}
	positive("APPROVAL_TTL", c.ApprovalTTL)
	positive("USERGROUP_MAX_AGE", c.UsergroupMaxAge)
	positive("REBOOT_COOLDOWN", c.RebootCooldown)
	positive("REBOOT_FLEET_WINDOW", c.RebootFleetWindow)
	positive("SHUTDOWN_TIMEOUT", c.ShutdownTimeout)
	if c.JobLease < time.Second {
		p = append(p, fmt.Sprintf("JOB_LEASE: %s is shorter than a second", c.JobLease))
	}
	if c.RebootDelay < 0 {
		p = append(p, fmt.Sprintf("REBOOT_DELAY: %s must not be negative", c.RebootDelay))
	}
	if c.RebootMaxPerDay < 1 {
		p = append(p, fmt.Sprintf("REBOOT_MAX_PER_DAY: %d must be at least 1", c.RebootMaxPerDay))
	}
	if c.RebootFleetMax < 1 {
		p = append(p, fmt.Sprintf("REBOOT_FLEET_MAX: %d must be at least 1", c.RebootFleetMax))
	}
	if c.Workers < 1 || c.Workers > 64 {
		p = append(p, fmt.Sprintf("WORKERS: %d is not between 1 and 64", c.Workers))
	}
	oneOf := func(key, val string, allowed ...string) {
		if !slices.Contains(allowed, val) {
			p = append(p, fmt.Sprintf("%s: %q is not one of %s", key, val, strings.Join(allowed, ", ")))
		}
	}
	oneOf("AUTO_REBOOT", c.AutoReboot, monitor.Modes...)
	oneOf("REBOOT_METHOD", c.RebootMethod, commands.RebootMethods...)
	oneOf("LOG_LEVEL", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("LOG_FORMAT", c.LogFormat, "json", "text")
	if c.RebootLabel == "" {
		missing("REBOOT_LABEL", "the alert label that names the server")
	}
	if c.WebhooksEnabled() && c.SlackChannel == "" {
		missing("SLACK_CHANNEL", "webhook decisions are reported there (WEBHOOK_TOKEN or GRAFANA_HMAC_SECRET is set)")
	}
	if c.SlackChannel != "" && !c.WebhooksEnabled() {
		missing("WEBHOOK_TOKEN", "monitoring must send it, or set GRAFANA_HMAC_SECRET (SLACK_CHANNEL is set for webhooks)")
	}
	if _, port, _ := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr == c.ListenAddr && port != "0" {
		p = append(p, fmt.Sprintf("METRICS_ADDR: %q is LISTEN_ADDR too; /metrics needs a listener of its own, off the public one", c.MetricsAddr))
	}
	if c.RedisPrefix == "" {
		missing("REDIS_PREFIX", "every key is namespaced with it")
	}
	for _, g := range c.ProtectedServers {
		if err := policy.CheckGlob(g); err != nil {
			p = append(p, "PROTECTED_SERVERS: "+err.Error())
		}
	}
	if c.PurgeGrace < 0 {
		p = append(p, fmt.Sprintf("PURGE_GRACE: %s must not be negative (0s purges at once)", c.PurgeGrace))
	}
	if c.BlastRadius < 1 {
		p = append(p, fmt.Sprintf("BLAST_RADIUS: %d must be at least 1", c.BlastRadius))
	}
	return append(p, c.checkNames()...)
}

// policyFileConflicts lists the settings that POLICY_FILE replaces and that
// are set (non-empty) beside it: a start with both fails, naming them.
func policyFileConflicts(env map[string]string) []string {
	if env["POLICY_FILE"] == "" {
		return nil
	}
	var set []string
	for _, key := range []string{"APPROVERS", "APPROVALS_REQUIRED", "APPROVAL_TTL", "APPROVAL_ACTIONS",
		"ALLOWED_USERS", "ALLOWED_CHANNELS", "PROTECTED_SERVERS"} {
		if env[key] != "" {
			set = append(set, key)
		}
	}
	if len(set) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("POLICY_FILE: the policy file replaces %s; unset %s, or move what they say into the file",
		strings.Join(set, ", "), map[bool]string{true: "it", false: "them"}[len(set) == 1])}
}

// sharedDefaults are the defaults of the settings the bot has defaults for
// too, as environment values, taken from the bot: one source.
func sharedDefaults() map[string]string {
	return map[string]string{
		"APPROVALS_REQUIRED":  strconv.Itoa(bot.DefaultApprovalsRequired),
		"APPROVAL_TTL":        bot.DefaultApprovalTTL.String(),
		"USERGROUP_MAX_AGE":   bot.DefaultGroupMaxAge.String(),
		"WORKERS":             strconv.Itoa(bot.DefaultWorkers),
		"AUTO_REBOOT":         monitor.DefaultRebootMode,
		"REBOOT_LABEL":        monitor.DefaultRebootLabel,
		"REBOOT_METHOD":       monitor.DefaultRebootMethod,
		"REBOOT_COOLDOWN":     monitor.DefaultRebootCooldown.String(),
		"REBOOT_MAX_PER_DAY":  strconv.Itoa(monitor.DefaultRebootMaxPerDay),
		"REBOOT_FLEET_MAX":    strconv.Itoa(monitor.DefaultRebootFleetMax),
		"REBOOT_FLEET_WINDOW": monitor.DefaultRebootFleetWindow.String(),
	}
}

// isLoopback reports whether host (without port) is this machine:
// localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL is u for messages and logs, with any user:password replaced.
func redactURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("REDACTED")
	return c.String()
}

// envKeys lists the environment variable of every Config field.
func envKeys() []string {
	var keys []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ","); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// fieldKey maps a go-envconfig error ("FieldName: reason") back to the
// environment variable, and says whether that variable is a secret.
func fieldKey(err error) (key string, secret bool) {
	name, _, ok := strings.Cut(err.Error(), ":")
	if !ok {
		return "", false
	}
	f, ok := reflect.TypeFor[Config]().FieldByName(name)
	if !ok {
		return "", false
	}
	k, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return k, f.Tag.Get("secret") == "true"
}

// decodeReason is the innermost error, without the field and value, which
// go-envconfig and strconv repeat.
func decodeReason(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// dnsLabel is a part of a Bytemark name: a group, an account, a server.
var dnsLabel = regexp.MustCompile(`(?i)^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkNames checks the settings that used to fail one start at a time,
// later in the start: the listen addresses, the default account and group,
// each APPROVAL_ACTIONS entry and each REBOOT_ALLOW entry.
func (c *Config) checkNames() []string {
	var p []string
	for _, a := range []struct{ key, val string }{{"LISTEN_ADDR", c.ListenAddr}, {"METRICS_ADDR", c.MetricsAddr}} {
		if !listenAddr(a.val) {
			p = append(p, fmt.Sprintf("%s: %q is not a listen address; write host:port or :port, e.g. :8080", a.key, a.val))
		}
	}
	if c.BytemarkAccount != "" && !dnsLabel.MatchString(c.BytemarkAccount) {
		p = append(p, fmt.Sprintf("BYTEMARK_ACCOUNT: %q is not an account name (letters, digits and hyphens, as in its servers' hostnames)", c.BytemarkAccount))
	}
	if !dnsLabel.MatchString(c.BytemarkGroup) {
		p = append(p, fmt.Sprintf("BYTEMARK_GROUP: %q is not a group name (letters, digits and hyphens, as in its servers' hostnames)", c.BytemarkGroup))
	}
	if !strings.EqualFold(strings.TrimSpace(c.ApprovalActions), "none") {
		for _, item := range strings.Split(c.ApprovalActions, ",") {
			if _, err := commands.ParsePolicy(item); err != nil {
				p = append(p, "APPROVAL_ACTIONS: "+strings.TrimPrefix(err.Error(), "commands: "))
			}
		}
	}
	for _, a := range c.RebootAllow {
		parts := strings.Split(strings.Trim(strings.TrimSpace(a), "."), ".")
		ok := len(parts) <= 3
		for _, part := range parts {
			ok = ok && dnsLabel.MatchString(part)
		}
		if !ok {
			p = append(p, fmt.Sprintf("REBOOT_ALLOW: %q is not a group (default.acme), an account (acme) or a server (web1.default.acme)", a))
		}
	}
	return p
}

// listenAddr reports whether s is an address to listen on: host:port or
// :port, the port a number (0 picks one).
func listenAddr(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}
