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

// The delivery builders are commands' (webhook_payloads.go), the one
// source of the formats; these names keep the kit's.

// FiringEnd is the endsAt of a firing alert (Alertmanager's zero time).
const FiringEnd = commands.FiringEnd

// Alert is one alert of an Alertmanager or Grafana delivery.
type Alert = commands.WebhookAlert

// AlertmanagerMessage is Alertmanager's webhook payload, version 4.
type AlertmanagerMessage = commands.AlertmanagerMessage

// Fingerprint is a label set's fingerprint (commands.Fingerprint).
func Fingerprint(labels map[string]string) string { return commands.Fingerprint(labels) }

// Firing is a firing InstanceDown alert for server, named by the label
// (REBOOT_LABEL, e.g. "bytemark_server"), started at start.
func Firing(label, server string, start time.Time) Alert {
	return commands.Firing(label, server, start)
}

// Alertmanager is a delivery of alerts grouped by alertname: firing if
// any alert is.
func Alertmanager(alerts ...Alert) AlertmanagerMessage { return commands.Alertmanager(alerts...) }

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
