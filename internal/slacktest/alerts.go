package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/bytebot/bytebot/commands"
)

// FiringEnd is the endsAt of a firing alert (Alertmanager's zero time).
const FiringEnd = "0001-01-01T00:00:00Z"

// Alert is one alert of an Alertmanager or Grafana delivery.
type Alert struct {
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

// Fingerprint is a label set's fingerprint: 16 hex digits, the same for
// the same labels, as Alertmanager's (not its hash function).
func Fingerprint(labels map[string]string) string { return commands.Fingerprint(labels) }

// Firing is a firing InstanceDown alert for server, named by the label
// (REBOOT_LABEL, e.g. "bytemark_server"), started at start.
func Firing(label, server string, start time.Time) Alert {
	instance := server + ":9100"
	labels := map[string]string{"alertname": "InstanceDown", "instance": instance, "job": "node", "severity": "critical", label: server}
	return Alert{
		Status: "firing", Labels: labels,
		Annotations:  map[string]string{"summary": instance + " is down", "description": instance + " of job node has been down for more than 5 minutes."},
		StartsAt:     start.UTC().Format(time.RFC3339),
		EndsAt:       FiringEnd,
		GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
		Fingerprint:  Fingerprint(labels),
	}
}

// Resolved is a with status resolved, ended at end.
func (a Alert) Resolved(end time.Time) Alert {
	a.Status = "resolved"
	a.EndsAt = end.UTC().Format(time.RFC3339)
	return a
}

// AlertmanagerMessage is Alertmanager's webhook payload, version 4
// (shared/slack.md section 6).
type AlertmanagerMessage struct {
	Receiver           string            `json:"receiver"`
	Status             string            `json:"status"`
	Alerts             []Alert           `json:"alerts"`
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
func Alertmanager(alerts ...Alert) AlertmanagerMessage {
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
	m.Alerts = append([]Alert(nil), m.Alerts...)
	for i := range m.Alerts { // Alertmanager sends no Grafana fields
		a := &m.Alerts[i]
		a.SilenceURL, a.DashboardURL, a.PanelURL, a.Values, a.ValueString = "", nil, nil, nil, nil
	}
	js, _ := json.Marshal(m)
	return js
}

// GrafanaMessage is Grafana's unified-alerting webhook payload, version 1
// (shared/slack.md section 7).
type GrafanaMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	OrgID             int64             `json:"orgId"`
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Title             string            `json:"title"`
	State             string            `json:"state"`
	Message           string            `json:"message"`
}

// Grafana is a Grafana delivery of alerts: state "alerting" if any fires.
func Grafana(alerts ...Alert) GrafanaMessage {
	m := GrafanaMessage{
		Receiver: "bytemark-bot", Status: "resolved", OrgID: 1, State: "ok",
		GroupLabels: map[string]string{}, CommonLabels: map[string]string{}, CommonAnnotations: map[string]string{},
		ExternalURL: "https://grafana.example.com/", Version: "1", GroupKey: "{}:{}",
	}
	firing := 0
	empty := ""
	alerts = append([]Alert(nil), alerts...)
	for i := range alerts {
		a := &alerts[i]
		if a.Status == "firing" {
			firing++
		}
		if a.DashboardURL == nil {
			a.DashboardURL, a.PanelURL, a.ValueString = &empty, &empty, &empty
		}
		if a.SilenceURL == "" {
			a.SilenceURL = "https://grafana.example.com/alerting/silence/new"
		}
	}
	m.Alerts = alerts
	if firing > 0 {
		m.Status, m.State = "firing", "alerting"
		m.Title = fmt.Sprintf("[FIRING:%d]", firing)
	} else {
		m.Title = fmt.Sprintf("[RESOLVED:%d]", len(alerts))
	}
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "**%s**\n\nLabels:\n", strings.ToUpper(a.Status))
		for _, k := range sortedKeys(a.Labels) {
			fmt.Fprintf(&b, " - %s = %s\n", k, a.Labels[k])
		}
	}
	m.Message = b.String()
	return m
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// JSON is the delivery's body.
func (m GrafanaMessage) JSON() []byte {
	js, _ := json.Marshal(m)
	return js
}

// HookRequest is a monitoring delivery of body to target (a URL, or a
// path for a handler) with the bearer token ("" for none).
func HookRequest(target, token string, body []byte) *http.Request {
	r, err := http.NewRequest(http.MethodPost, target, strings.NewReader(string(body)))
	if err != nil {
		panic("slacktest: " + err.Error())
	}
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// GrafanaRequest is a Grafana delivery of body to target signed with the
// HMAC secret at the time at.
func GrafanaRequest(target, secret string, body []byte, at time.Time) *http.Request {
	r := HookRequest(target, "", body)
	for k, v := range GrafanaHeaders(secret, body, at) {
		r.Header[k] = v
	}
	return r
}
