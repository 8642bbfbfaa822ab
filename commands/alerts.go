package commands

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxAlerts is the most alerts one webhook delivery may carry.
const MaxAlerts = 1000

// Alert states.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// An Alert is a monitoring alert naming a server to reboot.
type Alert struct {
	// Server is the server named by the configured label, in canonical
	// form (as Parse gives it).
	Server string
	// Status is StatusFiring or StatusResolved.
	Status string
	// Fingerprint identifies the alert's label set (not one occurrence).
	Fingerprint string
	// StartsAt is when this occurrence started (zero if not given).
	StartsAt time.Time
	// Key identifies this occurrence: fingerprint and start time. Use it
	// to deduplicate redeliveries.
	Key string
	// Name is the alertname label; Summary the summary annotation (or the
	// description). Both come from monitoring: treat them as untrusted text.
	Name, Summary string
	// Labels are all the alert's labels.
	Labels map[string]string
}

// Skipped is an alert that names no server to reboot, and why.
type Skipped struct {
	Fingerprint, Name, Reason string
}

// A Delivery is one webhook delivery from monitoring.
type Delivery struct {
	// Source is "alertmanager" or "grafana".
	Source string
	// Status is the group's status, "firing" or "resolved".
	Status   string
	GroupKey string
	Alerts   []Alert
	Skipped  []Skipped
}

// Reboot returns the action the alert asks for: rebooting its server by
// method (RebootGraceful if method is "").
func (a Alert) Reboot(method string) Reboot {
	if method == "" {
		method = RebootGraceful
	}
	return Reboot{Target: a.Server, Method: method}
}

// payload is what Alertmanager (version 4) and Grafana (version 1) both
// send. Unknown fields are ignored and every field is optional.
type payload struct {
	Version  string             `json:"version"`
	Status   string             `json:"status"`
	GroupKey string             `json:"groupKey"`
	Alerts   *[]json.RawMessage `json:"alerts"`
}

type payloadAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt"`
	Fingerprint string            `json:"fingerprint"`
}

// DecodeAlertmanager decodes a Prometheus Alertmanager webhook (version 4)
// into the alerts whose label names a server. Alerts without the label,
// or with something that isn't a server name in it, are Skipped. A body
// that isn't a JSON object with alerts is an error (answer 400).
func DecodeAlertmanager(body []byte, label string) (Delivery, error) {
	return decode(body, label, "alertmanager", "4")
}

// DecodeGrafana decodes a Grafana unified-alerting webhook (version 1), as
// DecodeAlertmanager does.
func DecodeGrafana(body []byte, label string) (Delivery, error) {
	return decode(body, label, "grafana", "1")
}

func decode(body []byte, label, source, version string) (Delivery, error) {
	if label == "" {
		return Delivery{}, errors.New("commands: no alert label to name the server")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return Delivery{}, fmt.Errorf("commands: %s payload is not a JSON object", source)
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Delivery{}, fmt.Errorf("commands: %s payload: field %s has the wrong type (%s)", source, te.Field, te.Value)
		}
		return Delivery{}, fmt.Errorf("commands: %s payload is not valid JSON", source)
	}
	if p.Version != "" && p.Version != version {
		return Delivery{}, fmt.Errorf("commands: %s payload has version %q; want %q (is this the right endpoint?)", source, truncate(p.Version, 20), version)
	}
	if p.Alerts == nil {
		return Delivery{}, fmt.Errorf("commands: %s payload has no alerts", source)
	}
	alerts := *p.Alerts
	switch {
	case len(alerts) == 0:
		return Delivery{}, fmt.Errorf("commands: %s payload has no alerts", source)
	case len(alerts) > MaxAlerts:
		return Delivery{}, fmt.Errorf("commands: %s payload has %d alerts; at most %d are handled per delivery (set max_alerts)", source, len(alerts), MaxAlerts)
	}
	d := Delivery{Source: source, Status: strings.ToLower(p.Status), GroupKey: p.GroupKey}
	for i, raw := range alerts {
		var pa payloadAlert
		if err := json.Unmarshal(raw, &pa); err != nil {
			d.Skipped = append(d.Skipped, Skipped{Reason: fmt.Sprintf("alert %d is not an alert object with string labels", i+1)})
			continue
		}
		a := Alert{
			Status:      strings.ToLower(pa.Status),
			Fingerprint: pa.Fingerprint,
			Name:        pa.Labels["alertname"],
			Summary:     truncate(cmp.Or(pa.Annotations["summary"], pa.Annotations["description"]), 300),
			Labels:      pa.Labels,
		}
		if a.Status == "" {
			a.Status = d.Status
		}
		if a.Fingerprint == "" {
			a.Fingerprint = fingerprint(pa.Labels)
		}
		start := pa.StartsAt
		if t, err := time.Parse(time.RFC3339Nano, pa.StartsAt); err == nil {
			a.StartsAt = t
			start = t.UTC().Format(time.RFC3339Nano)
		}
		a.Key = a.Fingerprint + "@" + start
		skip := func(why string) {
			d.Skipped = append(d.Skipped, Skipped{Fingerprint: a.Fingerprint, Name: a.Name, Reason: why})
		}
		server, ok := pa.Labels[label]
		switch {
		case !ok:
			skip(fmt.Sprintf("no %s label", label))
		case serverProblem(serverArg(server)) != "":
			skip(fmt.Sprintf("label %s is %q, which isn't a server name", label, truncate(server, 64)))
		case a.Status != StatusFiring && a.Status != StatusResolved:
			skip(fmt.Sprintf("status %q is neither firing nor resolved", truncate(a.Status, 20)))
		default:
			a.Server = serverArg(server)
			d.Alerts = append(d.Alerts, a)
		}
	}
	return d, nil
}

// fingerprint stands in for a missing one: a hash of the label set.
func fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// truncate shortens s to at most n runes.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
