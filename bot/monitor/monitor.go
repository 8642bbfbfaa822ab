// Package monitor is bytebot's monitoring webhooks: POST /hooks/alertmanager
// and POST /hooks/grafana turn firing alerts into reboots, through the
// core's approvals store and executor like any command. It is an edge of
// the core: it imports package bot and drives it through its public face
// (Submit, Job, the Store, the Poster); bot never imports it. main builds
// it once at start (New), registers its routes beside the Slack
// transport's, and runs its hold loop (Run); the console builds it too.
//
// A delivery goes through three parts:
//
//   - the handler (handler.go): credentials, body, concurrency;
//   - decide (decide.go): while the sender waits, each alert is decided with
//     a few Redis scripts (run concurrently across alerts) and the decision
//     is committed: deduplication claim, hold, cooldown, daily cap, fleet
//     brake, and the job, the delayed job or the approval card. Then the
//     answer goes back (2xx, or 503 when Redis failed so that Alertmanager
//     retries);
//   - report (report.go): in the background, one summary message per
//     delivery is posted to the channel, the automatic reboots are queued
//     in its thread, every decision is written to the audit log, and each
//     alert occurrence's thread is kept in Redis (approvals.Store.SetThreads),
//     which is how a later resolve, or the end of a hold, finds the thread
//     to post in.
//
// A reboot held by REBOOT_DELAY waits in Redis (approvals.Store.Hold); when
// the hold ends, one replica's Run takes it, decides it again and Submits
// what it decided (hold.go).
//
// Flapping protection, in order, for a firing alert:
//
//  1. dedupe: an occurrence (fingerprint and startsAt) is handled once;
//  2. hold (Delay): the rest waits; a resolve inside the hold cancels;
//  3. cooldown per server;
//  4. the allowlist (a server not on it gets an approval card; checked
//     before the counting guards so that it uses none of their slots);
//  5. the daily cap per server, after which an approval card is posted;
//  6. the fleet brake: more than FleetMax servers in FleetWindow (or in one
//     delivery) pause everything, cards included;
//  7. the mode (rebootMode): on queues the reboot, approve posts a card,
//     dry-run says what would have happened (its guards use keys of their
//     own), off ignores the alert (after dedupe, so that it is audited
//     once).
package monitor

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bytebot/bytebot/bot"
)

// Webhook sources, also the actor of their audit entries and jobs.
const (
	SourceAlertmanager = "alertmanager"
	SourceGrafana      = "grafana"
)

// The routes.
const (
	PathAlertmanager = "/hooks/alertmanager"
	PathGrafana      = "/hooks/grafana"
)

// Decisions about an alert: the audit outcome and the metric label.
const (
	DecDeduped     = "deduped"
	DecSkipped     = "skipped"
	DecIgnored     = "ignored"
	DecHeld        = "held"
	DecCooldown    = "cooldown"
	DecNotAllowed  = "not-allowed"
	DecCapped      = "capped"
	DecBrake       = "fleet-brake"
	DecApproval    = "approval"
	DecNoApprovers = "no-approvers"
	// DecRefused: a policy rule naming monitoring refuses the reboot.
	DecRefused     = "refused"
	DecReboot      = "rebooting"
	DecDryRun      = "dry-run"
	DecCancelled   = "cancelled"
	DecResolved    = "resolved"
	DecInterrupted = "interrupted"
	DecError       = "error"
)

// Hooks are the monitoring webhooks of a bot.Server.
type Hooks struct {
	s      *bot.Server
	cfg    Config
	alerts *prometheus.CounterVec // source, decision
	// slots holds a token per verified delivery being read and decided
	// (MaxInFlight); unverified holds one per Grafana body being read to
	// check its signature (MaxUnverified). Nothing takes a slot before its
	// credentials are checked as far as they can be without the body.
	slots, unverified chan struct{}

	testMu     sync.Mutex
	testStarts map[string]time.Time // TestAlert's firing alerts, by server
}

// New builds the monitoring webhooks of s with cfg (its zero fields take
// their defaults), once, at start; their alert counter
// (bytebot_webhook_alerts_total) is registered in s's metrics.
func New(s *bot.Server, cfg Config) *Hooks {
	cfg = cfg.WithDefaults()
	alerts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bytebot_webhook_alerts_total",
		Help: "Alerts received by the monitoring webhooks, by source and decision.",
	}, []string{"source", "decision"})
	s.Metrics().MustRegister(alerts)
	return &Hooks{s: s, cfg: cfg, alerts: alerts,
		slots: make(chan struct{}, cfg.MaxInFlight), unverified: make(chan struct{}, cfg.MaxUnverified),
		testStarts: map[string]time.Time{}}
}

// Config returns the configuration h runs with, defaults filled in.
func (h *Hooks) Config() Config { return h.cfg }

// count counts an alert's decision.
func (h *Hooks) count(source, decision string) {
	h.alerts.WithLabelValues(source, decision).Inc()
}
