package bot

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are a Server's Prometheus metrics, in a registry of its own.
type metrics struct {
	registry   *prometheus.Registry
	commands   *prometheus.CounterVec   // command, outcome
	approvals  *prometheus.CounterVec   // outcome
	executions *prometheus.CounterVec   // action, outcome
	apiLatency *prometheus.HistogramVec // call, outcome
	requests   *prometheus.CounterVec   // route, code
	policy     *prometheus.GaugeVec     // hash, source (policy.go)
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bytebot_commands_total",
			Help: "Commands received, by command name and outcome.",
		}, []string{"command", "outcome"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bytebot_approvals_total",
			Help: "Approval tickets and votes, by outcome (requested, vote, approved, denied, expired, cancelled, refused, changed).",
		}, []string{"outcome"}),
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bytebot_executions_total",
			Help: "Actions run by the executor, by action and outcome.",
		}, []string{"action", "outcome"}),
		apiLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bytebot_bytemark_api_duration_seconds",
			Help:    "Latency of Bytemark API client calls, by call and outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"call", "outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bytebot_http_requests_total",
			Help: "Slack HTTP requests, by route and status code.",
		}, []string{"route", "code"}),
		policy: newPolicyMetric(),
	}
	m.registry.MustRegister(m.commands, m.approvals, m.executions, m.apiLatency, m.requests, m.policy,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
