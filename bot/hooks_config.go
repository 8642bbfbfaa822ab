package bot

import "time"

// RebootConfig is how monitoring webhooks turn alerts into reboots.
type RebootConfig struct {
	// WebhookToken is the bearer token monitoring must send (WEBHOOK_TOKEN).
	WebhookToken string
	// GrafanaHMACSecret verifies X-Grafana-Alerting-Signature instead of the
	// bearer token (GRAFANA_HMAC_SECRET).
	GrafanaHMACSecret string
	// Mode is on, approve, dry-run or off (AUTO_REBOOT).
	Mode string
	// Label is the alert label naming the server (REBOOT_LABEL).
	Label string
	// Method is reset, cycle or graceful (REBOOT_METHOD).
	Method string
	// Cooldown and MaxPerDay protect one server from flapping.
	Cooldown  time.Duration
	MaxPerDay int
	// Delay holds an automatic reboot; a resolve inside it cancels.
	Delay time.Duration
	// FleetMax servers rebooted within FleetWindow pause automatic reboots.
	FleetMax    int
	FleetWindow time.Duration
	// Allow, when not empty, lists the groups ("default.acme") and servers
	// ("web1.default.acme") that may be rebooted automatically.
	Allow []string
}
