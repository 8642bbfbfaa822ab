package commands

import (
	"encoding/json"
	"fmt"
	"time"
)

// Monitoring deliveries as Alertmanager and Grafana send them: the inverse
// of the decoders (alerts.go), one builder for the console's test alert
// (bot/monitor) and the tests' kit (internal/slacktest).

// FiringEnd is the endsAt of a firing alert (Alertmanager's zero time).
const FiringEnd = "0001-01-01T00:00:00Z"

// WebhookAlert is one alert of an Alertmanager or Grafana delivery, as they
// send it: what the decoders here read, built for the console's test
// alerts and the tests' deliveries.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// Grafana's extras (omitted from Alertmanager deliveries).
	SilenceURL   string             `json:"silenceURL,omitempty"`
	DashboardURL *string            `json:"dashboardURL,omitempty"`
	PanelURL     *string            `json:"panelURL,omitempty"`
	Values       map[string]float64 `json:"values,omitempty"`
	ValueString  *string            `json:"valueString,omitempty"`
}

// Firing is a firing InstanceDown alert for server, named by the label
// (REBOOT_LABEL, e.g. "bytemark_server"), started at start.
func Firing(label, server string, start time.Time) WebhookAlert {
	instance := server + ":9100"
	labels := map[string]string{"alertname": "InstanceDown", "instance": instance, "job": "node", "severity": "critical", label: server}
	return WebhookAlert{
		Status: "firing", Labels: labels,
		Annotations:  map[string]string{"summary": instance + " is down", "description": instance + " of job node has been down for more than 5 minutes."},
		StartsAt:     start.UTC().Format(time.RFC3339),
		EndsAt:       FiringEnd,
		GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
		Fingerprint:  Fingerprint(labels),
	}
}

// Resolved is a with status resolved, ended at end.
func (a WebhookAlert) Resolved(end time.Time) WebhookAlert {
	a.Status = "resolved"
	a.EndsAt = end.UTC().Format(time.RFC3339)
	return a
}

// AlertmanagerMessage is Alertmanager's webhook payload, version 4
// (shared/slack.md section 6).
type AlertmanagerMessage struct {
	Receiver           string            `json:"receiver"`
	Status             string            `json:"status"`
	Alerts             []WebhookAlert    `json:"alerts"`
	NotificationReason string            `json:"notification_reason"`
	GroupLabels        map[string]string `json:"groupLabels"`
	CommonLabels       map[string]string `json:"commonLabels"`
	CommonAnnotations  map[string]string `json:"commonAnnotations"`
	RouteLabels        map[string]string `json:"routeLabels"`
	ExternalURL        string            `json:"externalURL"`
	Version            string            `json:"version"`
	GroupKey           string            `json:"groupKey"`
	TruncatedAlerts    int               `json:"truncatedAlerts"`
}

// Alertmanager is a delivery of alerts grouped by alertname: firing if
// any alert is.
func Alertmanager(alerts ...WebhookAlert) AlertmanagerMessage {
	m := AlertmanagerMessage{
		Receiver: "bytemark-bot", Status: "resolved", Alerts: alerts,
		NotificationReason: "first notification",
		GroupLabels:        map[string]string{"alertname": "InstanceDown"},
		CommonLabels:       map[string]string{"alertname": "InstanceDown"},
		CommonAnnotations:  map[string]string{},
		RouteLabels:        map[string]string{},
		ExternalURL:        "http://alertmanager.example.com:9093",
		Version:            "4",
		GroupKey:           `{}:{alertname="InstanceDown"}`,
	}
	for _, a := range alerts {
		if a.Status == "firing" {
			m.Status = "firing"
		}
	}
	if m.Status == "resolved" {
		m.NotificationReason = "all alerts resolved"
	}
	if len(alerts) > 0 {
		if n := alerts[0].Labels["alertname"]; n != "" {
			m.GroupLabels["alertname"], m.CommonLabels["alertname"] = n, n
			m.GroupKey = fmt.Sprintf(`{}:{alertname=%q}`, n)
		}
	}
	return m
}

// JSON is the delivery's body.
func (m AlertmanagerMessage) JSON() []byte {
	m.Alerts = append([]WebhookAlert(nil), m.Alerts...)
	for i := range m.Alerts { // Alertmanager sends no Grafana fields
		a := &m.Alerts[i]
		a.SilenceURL, a.DashboardURL, a.PanelURL, a.Values, a.ValueString = "", nil, nil, nil, nil
	}
	js, _ := json.Marshal(m)
	return js
}
