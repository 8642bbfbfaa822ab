package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDecodeAlertmanager(t *testing.T) {
	start := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		file        string
		wantStatus  string
		wantAlerts  []Alert // Labels not compared
		wantSkipped []Skipped
	}{
		{file: "alertmanager_example.json", wantStatus: "firing",
			wantSkipped: []Skipped{{Fingerprint: "695977d59c52901a", Name: "InstanceDown", Reason: "no bytemark_server label"}}},
		{file: "alertmanager_firing.json", wantStatus: "firing", wantAlerts: []Alert{{
			Server: "web1.default.acme", Status: "firing", Fingerprint: "695977d59c52901a", StartsAt: start,
			Key: "695977d59c52901a@2025-01-15T10:00:00Z", Name: "InstanceDown", Summary: "web-1.example.com:9100 is down"}}},
		{file: "alertmanager_resolved.json", wantStatus: "resolved", wantAlerts: []Alert{{
			Server: "web1.default.acme", Status: "resolved", Fingerprint: "695977d59c52901a", StartsAt: start,
			Key: "695977d59c52901a@2025-01-15T10:00:00Z", Name: "InstanceDown", Summary: "web-1.example.com:9100 is down"}}},
	}
	for _, tt := range tests {
		d, err := DecodeAlertmanager(mustRead(t, tt.file), "bytemark_server")
		if err != nil {
			t.Errorf("DecodeAlertmanager(%s) = %v", tt.file, err)
			continue
		}
		if d.Source != "alertmanager" || d.Status != tt.wantStatus || d.GroupKey != `{}:{alertname="InstanceDown"}` {
			t.Errorf("DecodeAlertmanager(%s) = %+v; want source alertmanager, status %s and the group key", tt.file, d, tt.wantStatus)
		}
		for i := range d.Alerts {
			if d.Alerts[i].Labels["job"] != "node" {
				t.Errorf("DecodeAlertmanager(%s) alert labels = %v", tt.file, d.Alerts[i].Labels)
			}
			d.Alerts[i].Labels = nil
		}
		if !slices.EqualFunc(d.Alerts, tt.wantAlerts, alertEqual) || !slices.Equal(d.Skipped, tt.wantSkipped) {
			t.Errorf("DecodeAlertmanager(%s) = %+v, %+v; want %+v, %+v", tt.file, d.Alerts, d.Skipped, tt.wantAlerts, tt.wantSkipped)
		}
	}
}

func alertEqual(a, b Alert) bool {
	return a.Server == b.Server && a.Status == b.Status && a.Fingerprint == b.Fingerprint && a.StartsAt.Equal(b.StartsAt) &&
		a.Key == b.Key && a.Name == b.Name && a.Summary == b.Summary
}

func TestDecodeAlertmanager100(t *testing.T) {
	d, err := DecodeAlertmanager(mustRead(t, "alertmanager_100.json"), "bytemark_server")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Alerts) != 90 || len(d.Skipped) != 10 {
		t.Fatalf("DecodeAlertmanager(100 alerts) = %d alerts, %d skipped; want 90, 10", len(d.Alerts), len(d.Skipped))
	}
	keys := map[string]bool{}
	for _, a := range d.Alerts {
		keys[a.Key] = true
		if !strings.HasPrefix(a.Server, "web") {
			t.Errorf("alert server = %q", a.Server)
		}
	}
	if len(keys) != 90 {
		t.Errorf("%d distinct keys; want 90", len(keys))
	}
}

func TestDecodeGrafana(t *testing.T) {
	start := time.Date(2021, 10, 12, 7, 51, 3, 157076000, time.UTC)
	d, err := DecodeGrafana(mustRead(t, "grafana_example.json"), "bytemark_server")
	if err != nil {
		t.Fatalf("DecodeGrafana(docs example) = %v", err)
	}
	wantSkipped := []Skipped{
		{Fingerprint: "c6eadffa33fcdf37", Name: "High memory usage", Reason: "no bytemark_server label"},
		{Reason: "alert 2 is not an alert object with string labels"},
	}
	if len(d.Alerts) != 0 || !slices.Equal(d.Skipped, wantSkipped) {
		t.Errorf("DecodeGrafana(docs example) = %+v; want skipped %+v", d, wantSkipped)
	}

	for file, status := range map[string]string{"grafana_firing.json": "firing", "grafana_resolved.json": "resolved"} {
		d, err := DecodeGrafana(mustRead(t, file), "bytemark_server")
		if err != nil {
			t.Fatalf("DecodeGrafana(%s) = %v", file, err)
		}
		if d.Source != "grafana" || d.Status != status || d.GroupKey != "{}:{}" || len(d.Skipped) != 0 || len(d.Alerts) != 2 {
			t.Fatalf("DecodeGrafana(%s) = %+v", file, d)
		}
		want := Alert{Server: "web1", Status: status, Fingerprint: "c6eadffa33fcdf37", StartsAt: start,
			Key: "c6eadffa33fcdf37@2021-10-12T07:51:03.157076Z", Name: "High memory usage", Summary: "This alert was triggered for zone us-1"}
		if !alertEqual(d.Alerts[0], want) {
			t.Errorf("DecodeGrafana(%s) alert 1 = %+v; want %+v", file, d.Alerts[0], want)
		}
		if got := d.Alerts[1]; got.Server != "db1.default.acme" || got.Key != "bc97ff14869b13e3@2021-10-12T07:51:03.157076Z" {
			t.Errorf("DecodeGrafana(%s) alert 2 = %+v", file, got)
		}
		if got, want := d.Alerts[1].Reboot("cycle"), (Reboot{Target: "db1.default.acme", Method: "cycle"}); got != want {
			t.Errorf("Reboot(cycle) = %#v; want %#v", got, want)
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name, body  string
		wantAlerts  []string // Server/Status/Key
		wantSkipped []string // Reason
	}{
		{name: "minimal", body: `{"alerts":[{"status":"firing","labels":{"bytemark_server":"WEB1"}}]}`,
			wantAlerts: []string{"web1/firing/" + fingerprint(map[string]string{"bytemark_server": "WEB1"}) + "@"}},
		{name: "status from group", body: `{"status":"resolved","alerts":[{"labels":{"bytemark_server":"web1"},"fingerprint":"f","startsAt":"2025-01-15T11:00:00+01:00"}]}`,
			wantAlerts: []string{"web1/resolved/f@2025-01-15T10:00:00Z"}},
		{name: "bad time kept raw", body: `{"alerts":[{"status":"firing","labels":{"bytemark_server":"web1"},"fingerprint":"f","startsAt":"yesterday"}]}`,
			wantAlerts: []string{"web1/firing/f@yesterday"}},
		{name: "hostname label", body: `{"alerts":[{"status":"FIRING","labels":{"bytemark_server":"web1.default.acme.uk0.bigv.io"},"fingerprint":"f"}]}`,
			wantAlerts: []string{"web1.default.acme.uk0.bigv.io/firing/f@"}},
		{name: "unknown fields", body: `{"version":"4","future":{"x":[1,2]},"alerts":[{"status":"firing","labels":{"bytemark_server":"web1"},"fingerprint":"f","values":{"A":1},"extra":null}]}`,
			wantAlerts: []string{"web1/firing/f@"}},
		{name: "bad server", body: `{"alerts":[{"status":"firing","labels":{"bytemark_server":"../etc","alertname":"X"},"fingerprint":"f"}]}`,
			wantSkipped: []string{`label bytemark_server is "../etc", which isn't a server name`}},
		{name: "empty server", body: `{"alerts":[{"status":"firing","labels":{"bytemark_server":""},"fingerprint":"f"}]}`,
			wantSkipped: []string{`label bytemark_server is "", which isn't a server name`}},
		{name: "bad status", body: `{"alerts":[{"status":"pending","labels":{"bytemark_server":"web1"},"fingerprint":"f"}]}`,
			wantSkipped: []string{`status "pending" is neither firing nor resolved`}},
		{name: "numeric label", body: `{"alerts":[{"status":"firing","labels":{"bytemark_server":1}},{"status":"firing","labels":{"bytemark_server":"db1"},"fingerprint":"g"}]}`,
			wantAlerts: []string{"db1/firing/g@"}, wantSkipped: []string{"alert 1 is not an alert object with string labels"}},
		{name: "null alert", body: `{"alerts":[null]}`, wantSkipped: []string{"no bytemark_server label"}},
	}
	for _, tt := range tests {
		d, err := DecodeAlertmanager([]byte(tt.body), "bytemark_server")
		if err != nil {
			t.Errorf("%s: DecodeAlertmanager(%s) = %v", tt.name, tt.body, err)
			continue
		}
		var alerts, skipped []string
		for _, a := range d.Alerts {
			alerts = append(alerts, a.Server+"/"+a.Status+"/"+a.Key)
		}
		for _, s := range d.Skipped {
			skipped = append(skipped, s.Reason)
		}
		if !slices.Equal(alerts, tt.wantAlerts) || !slices.Equal(skipped, tt.wantSkipped) {
			t.Errorf("%s: DecodeAlertmanager(%s) = %q, %q; want %q, %q", tt.name, tt.body, alerts, skipped, tt.wantAlerts, tt.wantSkipped)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	many := `{"alerts":[` + strings.Repeat(`{},`, MaxAlerts) + `{}]}`
	tests := []struct{ name, body, wantErr string }{
		{"empty", "", "commands: alertmanager payload is not a JSON object"},
		{"not json", "alert!", "commands: alertmanager payload is not a JSON object"},
		{"array", `[{"alerts":[]}]`, "commands: alertmanager payload is not a JSON object"},
		{"broken", `{"alerts":[`, "commands: alertmanager payload is not valid JSON"},
		{"trailing", `{"alerts":[{}]} {}`, "commands: alertmanager payload is not valid JSON"},
		{"no alerts", `{"status":"firing"}`, "commands: alertmanager payload has no alerts"},
		{"null alerts", `{"alerts":null}`, "commands: alertmanager payload has no alerts"},
		{"zero alerts", `{"alerts":[]}`, "commands: alertmanager payload has no alerts"},
		{"alerts object", `{"alerts":{}}`, "commands: alertmanager payload: field alerts has the wrong type (object)"},
		{"wrong version", `{"version":"1","alerts":[{}]}`, `commands: alertmanager payload has version "1"; want "4" (is this the right endpoint?)`},
		{"too many", many, fmt.Sprintf("commands: alertmanager payload has %d alerts; at most %d are handled per delivery (set max_alerts)", MaxAlerts+1, MaxAlerts)},
	}
	for _, tt := range tests {
		_, err := DecodeAlertmanager([]byte(tt.body), "bytemark_server")
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: DecodeAlertmanager(%.40q) = %v; want %q", tt.name, tt.body, err, tt.wantErr)
		}
	}
	if _, err := DecodeGrafana(mustRead(t, "alertmanager_firing.json"), "bytemark_server"); err == nil || !strings.Contains(err.Error(), `version "4"; want "1"`) {
		t.Errorf("DecodeGrafana(alertmanager payload) = %v; want a version error", err)
	}
	if _, err := DecodeGrafana(mustRead(t, "grafana_firing.json"), ""); err == nil {
		t.Errorf("DecodeGrafana with no label = nil error")
	}
}

func TestAlertReboot(t *testing.T) {
	a := Alert{Server: "web1"}
	for method, want := range map[string]Reboot{
		"":      {Target: "web1", Method: RebootGraceful},
		"reset": {Target: "web1", Method: RebootReset},
	} {
		got := a.Reboot(method)
		if got != want {
			t.Errorf("Alert.Reboot(%q) = %#v; want %#v", method, got, want)
		}
		if p, err := Parse(got.String()); err != nil || p != got {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", got.String(), p, err, got)
		}
	}
}

// fuzzDecode checks that decode never panics and that what it accepts is
// usable: every alert's reboot is a valid action that round-trips.
func fuzzDecode(f *testing.F, decode func([]byte, string) (Delivery, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(mustRead(f, s))
	}
	f.Add([]byte(`{"alerts":[{"labels":{"bytemark_server":"web1"}}]}`))
	f.Add([]byte(`{"alerts":[null,1,"x",{"labels":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decode(body, "bytemark_server")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "commands: ") {
				t.Fatalf("error %q has no package prefix", err)
			}
			return
		}
		if len(d.Alerts)+len(d.Skipped) == 0 || len(d.Alerts)+len(d.Skipped) > MaxAlerts {
			t.Fatalf("decoded %d alerts and %d skipped", len(d.Alerts), len(d.Skipped))
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		for _, a := range d.Alerts {
			r := a.Reboot("")
			if err := Validate(r); err != nil {
				t.Fatalf("alert %+v gives an invalid reboot: %v", a, err)
			}
			if p, err := Parse(r.String()); err != nil || p != r {
				t.Fatalf("Parse(%q) = %#v, %v; want %#v", r.String(), p, err, r)
			}
			if a.Status != StatusFiring && a.Status != StatusResolved {
				t.Fatalf("alert status %q", a.Status)
			}
		}
	})
}

func FuzzDecodeAlertmanager(f *testing.F) {
	fuzzDecode(f, DecodeAlertmanager, "alertmanager_example.json", "alertmanager_firing.json", "alertmanager_resolved.json", "alertmanager_100.json")
}

func FuzzDecodeGrafana(f *testing.F) {
	fuzzDecode(f, DecodeGrafana, "grafana_example.json", "grafana_firing.json", "grafana_resolved.json")
}
