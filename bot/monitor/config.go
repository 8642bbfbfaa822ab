package monitor

import (
	"slices"
	"strings"
	"time"

	"github.com/bytebot/bytebot/commands"
)

// AUTO_REBOOT modes.
const (
	// ModeOn reboots by itself, within the flapping protection.
	ModeOn = "on"
	// ModeApprove posts an approval card for every reboot.
	ModeApprove = "approve"
	// ModeDryRun posts what it would have done and does nothing.
	ModeDryRun = "dry-run"
	// ModeOff accepts alerts and ignores them.
	ModeOff = "off"
)

// Modes are the AUTO_REBOOT modes, for validating configuration.
var Modes = []string{ModeOn, ModeApprove, ModeDryRun, ModeOff}

// Defaults of the monitoring settings: the one source (WithDefaults, and
// main's configuration, take them from here).
const (
	DefaultRebootMode        = ModeApprove             // AUTO_REBOOT
	DefaultRebootLabel       = "bytemark_server"       // REBOOT_LABEL
	DefaultRebootMethod      = commands.RebootGraceful // REBOOT_METHOD
	DefaultRebootCooldown    = 15 * time.Minute        // REBOOT_COOLDOWN
	DefaultRebootMaxPerDay   = 3                       // REBOOT_MAX_PER_DAY
	DefaultRebootFleetMax    = 5                       // REBOOT_FLEET_MAX
	DefaultRebootFleetWindow = 10 * time.Minute        // REBOOT_FLEET_WINDOW
)

// Config is how the monitoring webhooks turn alerts into reboots. Zero
// values take the documented defaults (WithDefaults).
type Config struct {
	// WebhookToken is the bearer token monitoring must send (WEBHOOK_TOKEN).
	// With neither it nor GrafanaHMACSecret set, every webhook is refused
	// with 401.
	WebhookToken string
	// GrafanaHMACSecret verifies X-Grafana-Alerting-Signature instead of the
	// bearer token (GRAFANA_HMAC_SECRET).
	GrafanaHMACSecret string
	// GrafanaAllowNoTimestamp accepts Grafana signatures made without
	// X-Grafana-Alerting-Timestamp (GRAFANA_ALLOW_NO_TIMESTAMP). Such a
	// signature never expires, so a captured delivery could be replayed
	// once its dedupe record is gone; by default they are refused (401).
	GrafanaAllowNoTimestamp bool
	// Mode is on, approve, dry-run or off (AUTO_REBOOT; default approve).
	// Anything else is taken as approve.
	Mode string
	// Label is the alert label naming the server (REBOOT_LABEL; default
	// bytemark_server).
	Label string
	// Method is reset, cycle or graceful (REBOOT_METHOD; default graceful:
	// an ACPI shutdown with a deadline, then a power cycle if it doesn't
	// go off in time).
	Method string
	// Cooldown (default 15m) and MaxPerDay (default 3, in any 24 hours)
	// protect one server from flapping.
	Cooldown  time.Duration
	MaxPerDay int
	// Delay holds an automatic reboot (REBOOT_DELAY; default 0: no hold).
	// A resolve inside it cancels; at its end the alert is decided again,
	// guards and mode as they are then (hold.go).
	Delay time.Duration
	// HoldEvery is how often Run looks for holds that have ended (default
	// 1s).
	HoldEvery time.Duration
	// More than FleetMax servers (default 5) within FleetWindow (default
	// 10m) pause automatic reboots.
	FleetMax    int
	FleetWindow time.Duration
	// Allow, when not empty, lists the groups ("default.acme"), accounts
	// ("acme") and servers ("web1.default.acme") that may be rebooted
	// automatically; other servers get an approval card.
	Allow []string
	// MaxBodyBytes caps a webhook body (default 2 MiB; larger bodies get 413).
	MaxBodyBytes int64
	// DedupeTTL is how long an alert occurrence (fingerprint and start
	// time) is remembered, so that redeliveries do nothing (default 72h).
	DedupeTTL time.Duration
	// ReportGrace is how long an automatic reboot waits for the delivery's
	// summary to be posted, so that it runs in the summary's thread; if the
	// summary can't be posted in time the reboot runs anyway (default 20s).
	ReportGrace time.Duration
	// MaxInFlight caps the deliveries being read and decided at once
	// (default 32); one more is answered 503 with Retry-After at once, so
	// that a flood of deliveries (or a slow Redis) cannot pile up memory.
	// Alertmanager and Grafana retry 5xx answers.
	MaxInFlight int
	// MaxUnverified caps the Grafana deliveries whose body is being read to
	// check its HMAC signature (default 2×MaxInFlight). They don't count
	// against MaxInFlight until the signature is verified; one more is
	// answered 503 at once.
	MaxUnverified int
	// BodyTimeout bounds the reading of a webhook body (default 5s); a body
	// that takes longer is answered 408 and its connection closed.
	BodyTimeout time.Duration
}

// WithDefaults returns c with the documented defaults in its zero fields.
func (c Config) WithDefaults() Config {
	c.Mode = strings.ToLower(strings.TrimSpace(c.Mode))
	if !slices.Contains(Modes, c.Mode) {
		c.Mode = DefaultRebootMode
	}
	if c.Label == "" {
		c.Label = DefaultRebootLabel
	}
	if !slices.Contains(commands.RebootMethods, c.Method) {
		c.Method = DefaultRebootMethod
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Cooldown, DefaultRebootCooldown)
	def(&c.FleetWindow, DefaultRebootFleetWindow)
	def(&c.DedupeTTL, 72*time.Hour)
	def(&c.ReportGrace, 20*time.Second)
	def(&c.HoldEvery, time.Second)
	if c.Delay < 0 {
		c.Delay = 0
	}
	if c.MaxPerDay < 1 {
		c.MaxPerDay = DefaultRebootMaxPerDay
	}
	if c.FleetMax < 1 {
		c.FleetMax = DefaultRebootFleetMax
	}
	if c.MaxInFlight < 1 {
		c.MaxInFlight = 32
	}
	if c.MaxUnverified < 1 {
		c.MaxUnverified = 2 * c.MaxInFlight
	}
	def(&c.BodyTimeout, 5*time.Second)
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 2 << 20
	}
	allow := make([]string, 0, len(c.Allow))
	for _, a := range c.Allow {
		if a = strings.Trim(strings.ToLower(strings.TrimSpace(a)), "."); a != "" {
			allow = append(allow, a)
		}
	}
	c.Allow = allow
	return c
}

// allowed reports whether server (fully qualified) may be rebooted
// automatically.
func (c Config) allowed(server string) bool {
	if len(c.Allow) == 0 {
		return true
	}
	for _, a := range c.Allow {
		if server == a || strings.HasSuffix(server, "."+a) {
			return true
		}
	}
	return false
}
