package commands

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// MaxAlerts is the most alerts one webhook delivery may carry.
const MaxAlerts = 1000

// Caps on the labels kept from a delivery, so that its memory is bounded by
// its size and not by how many labels it packs in: a 2 MiB body of tiny
// labels decoded into maps took about 27 MB (45 MB over 1000 alerts).
// Past a cap, or longer than MaxLabelBytes (name and value), a label is
// dropped and counted in Delivery.DroppedLabels; the alert still counts.
// The label naming the server and alertname are always kept. Nothing else
// in the bot reads labels, so a reboot never depends on a dropped one.
const (
	MaxLabelsPerAlert    = 64
	MaxLabelsPerDelivery = 8192
	MaxLabelBytes        = 1024
)

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
	// DroppedLabels counts the labels over the caps (MaxLabelsPerAlert,
	// MaxLabelsPerDelivery, MaxLabelBytes), which are not in Alert.Labels.
	DroppedLabels int
}

// Reboot returns the action the alert asks for: rebooting its server by
// method (RebootGraceful if method is "").
func (a Alert) Reboot(method string) Reboot {
	if method == "" {
		method = RebootGraceful
	}
	return Reboot{Target: a.Server, Method: method}
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
	// Validated once, the body is then walked in place (jsonscan.go):
	// only what is kept is copied.
	if !json.Valid(body) {
		return Delivery{}, fmt.Errorf("commands: %s payload is not valid JSON", source)
	}
	var p struct {
		version, status, groupKey string
		alerts                    []byte // the raw array
	}
	err := eachMember(body, func(name, value []byte) error {
		var field string
		var dst *string
		switch {
		case fieldIs(name, "version"):
			field, dst = "version", &p.version
		case fieldIs(name, "status"):
			field, dst = "status", &p.status
		case fieldIs(name, "groupKey"):
			field, dst = "groupKey", &p.groupKey
		case fieldIs(name, "alerts"):
			switch value[0] {
			case '[':
				p.alerts = value
			case 'n':
				p.alerts = nil
			default:
				return typeError{"alerts", value}
			}
			return nil
		default:
			return nil
		}
		switch value[0] {
		case 'n':
		case '"':
			*dst = unquote(value)
		default:
			return typeError{field, value}
		}
		return nil
	})
	var te typeError
	if errors.As(err, &te) {
		return Delivery{}, fmt.Errorf("commands: %s payload: field %s has the wrong type (%s)", source, te.field, jsonKind(te.value))
	}
	if p.version != "" && p.version != version {
		return Delivery{}, fmt.Errorf("commands: %s payload has version %q; want %q (is this the right endpoint?)", source, truncate(p.version, 20), version)
	}
	n := 0
	if p.alerts != nil {
		eachElement(p.alerts, func([]byte) { n++ })
	}
	switch {
	case n == 0:
		return Delivery{}, fmt.Errorf("commands: %s payload has no alerts", source)
	case n > MaxAlerts:
		return Delivery{}, fmt.Errorf("commands: %s payload has %d alerts; at most %d are handled per delivery (set max_alerts)", source, n, MaxAlerts)
	}
	d := Delivery{Source: source, Status: strings.ToLower(p.status), GroupKey: p.groupKey}
	lc := labelCaps{label: label, budget: MaxLabelsPerDelivery}
	i := 0
	eachElement(p.alerts, func(raw []byte) {
		i++
		pa, err := lc.alert(raw)
		d.DroppedLabels += pa.dropped
		if err != nil {
			lc.giveBack(pa.labels)
			d.Skipped = append(d.Skipped, Skipped{Reason: fmt.Sprintf("alert %d is not an alert object with string labels", i)})
			return
		}
		a := Alert{
			Status:      strings.ToLower(pa.status),
			Fingerprint: pa.fingerprint,
			Name:        pa.labels["alertname"],
			Summary:     truncate(cmp.Or(pa.summary, pa.description), 300),
			Labels:      pa.labels,
		}
		if a.Status == "" {
			a.Status = d.Status
		}
		if a.Fingerprint == "" {
			a.Fingerprint = fingerprintWith(pa.labels, pa.dropped, pa.droppedSum)
		}
		start := pa.startsAt
		if t, err := time.Parse(time.RFC3339Nano, pa.startsAt); err == nil {
			a.StartsAt = t
			start = t.UTC().Format(time.RFC3339Nano)
		}
		a.Key = a.Fingerprint + "@" + start
		skip := func(why string) {
			d.Skipped = append(d.Skipped, Skipped{Fingerprint: a.Fingerprint, Name: a.Name, Reason: why})
		}
		server, ok := pa.labels[label]
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
	})
	return d, nil
}

// payloadAlert is what is kept of one alert of a delivery.
type payloadAlert struct {
	status, startsAt, fingerprint string
	labels                        map[string]string
	summary, description          string
	// dropped labels, and the sum of their hashes (for the fingerprint)
	dropped    int
	droppedSum uint64
}

// labelCaps decodes the alerts of one delivery, keeping the labels within
// the caps.
type labelCaps struct {
	label  string // the label naming the server, always kept
	budget int    // labels the delivery may still keep
}

// errNotString refuses a label or annotation that isn't a string, as
// encoding/json would into a map[string]string.
var errNotString = errors.New("commands: not a string")

// alert decodes one alert, as encoding/json would into a struct with
// string fields and string maps (member names matched without regard to
// case, the last of duplicates winning, null leaving a field empty), but
// keeping only the labels within the caps and the two annotations used.
func (lc *labelCaps) alert(raw []byte) (payloadAlert, error) {
	var pa payloadAlert
	if raw[0] == 'n' {
		return pa, nil
	}
	if raw[0] != '{' {
		return pa, errNotString
	}
	err := eachMember(raw, func(name, value []byte) error {
		var dst *string
		switch {
		case fieldIs(name, "labels"):
			return lc.labels(&pa, value)
		case fieldIs(name, "annotations"):
			if value[0] != '{' && value[0] != 'n' {
				return errNotString
			}
			// A later annotations member adds to the map; null empties it.
			if value[0] == 'n' {
				pa.summary, pa.description = "", ""
				return nil
			}
			return eachMember(value, func(k, v []byte) error {
				if v[0] != '"' {
					return errNotString
				}
				switch {
				case bytes.Equal(k, []byte(`"summary"`)):
					pa.summary = unquote(v)
				case bytes.Equal(k, []byte(`"description"`)):
					pa.description = unquote(v)
				case bytes.IndexByte(k, '\\') >= 0:
					switch unquote(k) {
					case "summary":
						pa.summary = unquote(v)
					case "description":
						pa.description = unquote(v)
					}
				}
				return nil
			})
		case fieldIs(name, "status"):
			dst = &pa.status
		case fieldIs(name, "startsAt"):
			dst = &pa.startsAt
		case fieldIs(name, "fingerprint"):
			dst = &pa.fingerprint
		default:
			return nil
		}
		switch value[0] {
		case 'n':
			return nil
		case '"':
			*dst = unquote(value)
			return nil
		}
		return errNotString
	})
	return pa, err
}

// labels decodes an alert's labels into pa, within the caps.
func (lc *labelCaps) labels(pa *payloadAlert, value []byte) error {
	if value[0] != '{' && value[0] != 'n' {
		return errNotString
	}
	// A later labels member adds to the map; null empties it (and gives
	// back its share of the delivery's budget).
	if value[0] == 'n' {
		lc.giveBack(pa.labels)
		pa.labels, pa.dropped, pa.droppedSum = nil, 0, 0
		return nil
	}
	counted := 0 // labels kept that count against the caps
	if pa.labels == nil {
		pa.labels = map[string]string{}
	}
	for k := range pa.labels {
		if !lc.always(k) {
			counted++
		}
	}
	return eachMember(value, func(k, v []byte) error {
		if v[0] != '"' {
			return errNotString
		}
		name, ok := plain(k)
		if !ok {
			name = []byte(unquote(k))
		}
		if _, seen := pa.labels[string(name)]; seen || lc.always(string(name)) {
			pa.labels[string(name)] = unquote(v) // the last of duplicates wins
			return nil
		}
		if counted >= MaxLabelsPerAlert-2 || lc.budget <= 0 || len(name)+len(v)-2 > MaxLabelBytes {
			pa.dropped++
			pa.droppedSum += labelHash(name, v)
			return nil
		}
		counted++
		lc.budget--
		pa.labels[string(name)] = unquote(v)
		return nil
	})
}

// giveBack returns the budget that labels took.
func (lc *labelCaps) giveBack(labels map[string]string) {
	for k := range labels {
		if !lc.always(k) {
			lc.budget++
		}
	}
}

// always reports whether a label is kept whatever the caps.
func (lc *labelCaps) always(name string) bool { return name == lc.label || name == "alertname" }

// labelHash is a hash of a dropped label (its name, and its value as
// sent), summed over the dropped labels (so that their order doesn't
// matter) into an alert's fingerprint.
func labelHash(name, rawValue []byte) uint64 {
	h := fnv.New64a()
	h.Write(name)
	h.Write([]byte{0xff})
	h.Write(rawValue)
	return h.Sum64()
}

// fingerprint stands in for a missing one: a hash of the label set.
func fingerprint(labels map[string]string) string { return fingerprintWith(labels, 0, 0) }

// fingerprintWith is fingerprint with the dropped labels (how many, and
// the sum of their labelHash) mixed in.
// Fingerprint is a label set's fingerprint, as the bot computes it for an
// alert sent without one: 16 hex digits, the same for the same labels
// (like Alertmanager's, though not its hash function). Builders of test
// alerts use it too.
func Fingerprint(labels map[string]string) string { return fingerprintWith(labels, 0, 0) }

func fingerprintWith(labels map[string]string, dropped int, droppedSum uint64) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	if dropped > 0 {
		fmt.Fprintf(h, "\x00dropped\xff%d\xff%x", dropped, droppedSum)
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
