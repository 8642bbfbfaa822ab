package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// maxBody is the bot's default cap on a webhook body (MaxBodyBytes).
const maxBody = 2 << 20

// labelFlood is a delivery of at most maxBody bytes: alerts alerts naming
// web1, each with as many tiny extra labels as fit (or perAlert, if
// smaller), and its own fingerprint.
func labelFlood(alerts, perAlert int) []byte {
	room := maxBody/alerts - 200
	var b bytes.Buffer
	b.WriteString(`{"version":"4","status":"firing","alerts":[`)
	for i := range alerts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","fingerprint":"f%d","labels":{"alertname":"Down","bytemark_server":"web1"`, i)
		start := b.Len()
		for j := 0; j < perAlert && b.Len()-start < room-16; j++ {
			fmt.Fprintf(&b, `,"%x":""`, j)
		}
		b.WriteString(`},"annotations":{"summary":"web1 is down"}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestDecodeCapsLabels: however many labels a delivery carries, at most
// MaxLabelsPerAlert are kept per alert and MaxLabelsPerDelivery in all
// (the server label and alertname always), and the alerts still reboot.
func TestDecodeCapsLabels(t *testing.T) {
	for _, tt := range []struct {
		name             string
		alerts, perAlert int
	}{
		{"one alert, 2 MiB of labels", 1, 1 << 30},
		{"1000 alerts, 2 MiB of labels", MaxAlerts, 1 << 30},
		{"1000 alerts of 100 labels", MaxAlerts, 100},
	} {
		body := labelFlood(tt.alerts, tt.perAlert)
		if len(body) > maxBody {
			t.Fatalf("%s: body of %d bytes; want at most %d", tt.name, len(body), maxBody)
		}
		d, err := DecodeAlertmanager(body, "bytemark_server")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(d.Alerts) != tt.alerts || len(d.Skipped) != 0 {
			t.Fatalf("%s: %d alerts, %d skipped; want %d, 0", tt.name, len(d.Alerts), len(d.Skipped), tt.alerts)
		}
		total := 0
		for i, a := range d.Alerts {
			total += len(a.Labels)
			if len(a.Labels) > MaxLabelsPerAlert {
				t.Fatalf("%s: alert %d keeps %d labels; want at most %d", tt.name, i, len(a.Labels), MaxLabelsPerAlert)
			}
			if a.Server != "web1" || a.Name != "Down" || a.Labels["bytemark_server"] != "web1" || a.Labels["alertname"] != "Down" ||
				a.Summary != "web1 is down" || a.Key != fmt.Sprintf("f%d@", i) {
				t.Fatalf("%s: alert %d = %+v; want web1, Down, its summary and fingerprint", tt.name, i, a)
			}
		}
		if total > MaxLabelsPerDelivery+2*tt.alerts {
			t.Errorf("%s: %d labels kept; want at most %d (and the two that are always kept)", tt.name, total, MaxLabelsPerDelivery)
		}
		if d.DroppedLabels == 0 {
			t.Errorf("%s: DroppedLabels = 0; want the count of what was dropped", tt.name)
		}
	}
	// Under the caps nothing is dropped.
	d, err := DecodeAlertmanager(mustRead(t, "alertmanager_100.json"), "bytemark_server")
	if err != nil || d.DroppedLabels != 0 || d.Alerts[0].Labels["job"] == "" {
		t.Errorf("100 ordinary alerts: dropped %d, labels %v, err %v; want all labels kept", d.DroppedLabels, d.Alerts[0].Labels, err)
	}
}

// TestDecodeDroppedLabelsKeepFingerprints: an alert without a fingerprint
// gets one from all its labels, dropped ones included, so two alerts that
// differ only in a dropped label stay apart; and a label too long to keep
// doesn't stop the alert.
func TestDecodeDroppedLabelsKeepFingerprints(t *testing.T) {
	alert := func(last string) string {
		var b strings.Builder
		b.WriteString(`{"status":"firing","labels":{"bytemark_server":"web1"`)
		for j := range MaxLabelsPerAlert + 10 {
			fmt.Fprintf(&b, `,"l%d":"v"`, j)
		}
		fmt.Fprintf(&b, `,"zz":%q}}`, last)
		return b.String()
	}
	d, err := DecodeAlertmanager([]byte(`{"alerts":[`+alert("a")+","+alert("b")+`,{"status":"firing","labels":{"bytemark_server":"web2","big":"`+
		strings.Repeat("x", 100<<10)+`"}}]}`), "bytemark_server")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Alerts) != 3 || d.Alerts[0].Fingerprint == d.Alerts[1].Fingerprint {
		t.Fatalf("alerts = %+v; want 3, the first two with different fingerprints", d.Alerts)
	}
	if _, ok := d.Alerts[2].Labels["big"]; ok || d.Alerts[2].Server != "web2" {
		t.Errorf("alert with a 100 KiB label = %+v; want web2 without the label", d.Alerts[2])
	}
	// Under the caps, the fingerprint is what it always was.
	labels := map[string]string{"bytemark_server": "web1", "zz": "a"}
	d, err = DecodeAlertmanager([]byte(`{"alerts":[{"status":"firing","labels":{"zz":"a","bytemark_server":"web1"}}]}`), "bytemark_server")
	if err != nil || d.Alerts[0].Fingerprint != fingerprint(labels) {
		t.Errorf("fingerprint = %+v, %v; want %s", d.Alerts, err, fingerprint(labels))
	}
}

// decodeAlloc is the memory allocated by decoding body once.
func decodeAlloc(body []byte) (uint64, Delivery, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := DecodeAlertmanager(body, "bytemark_server")
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, d, err
}

// TestDecodeMemoryBound: decoding a delivery of 2 MiB allocates at most
// twice its size, whatever its shape (it used to allocate 15 MiB and more
// for one full of tiny labels).
func TestDecodeMemoryBound(t *testing.T) {
	for _, tt := range []struct {
		name string
		body []byte
	}{
		{"one alert, tiny labels", labelFlood(1, 1<<30)},
		{"1000 alerts, tiny labels", labelFlood(MaxAlerts, 1<<30)},
		{"one alert, tiny annotations", bytes.Replace(labelFlood(1, 1<<30), []byte(`"web1"`), []byte(`"web1"},"annotations":{"x":""`), 1)},
	} {
		n, d, err := decodeAlloc(tt.body)
		if err != nil || len(d.Alerts) == 0 {
			t.Fatalf("%s: %+v, %v", tt.name, d.Skipped, err)
		}
		t.Logf("%s: %d bytes decoded with %d bytes allocated", tt.name, len(tt.body), n)
		if n > 2*maxBody {
			t.Errorf("%s: decoding %d bytes allocated %d; want at most %d", tt.name, len(tt.body), n, 2*maxBody)
		}
	}
}

// BenchmarkDecodeMaximal measures decoding the most expensive delivery
// the bot accepts: 2 MiB of tiny labels, in one alert and in 1000.
func BenchmarkDecodeMaximal(b *testing.B) {
	for _, n := range []int{1, MaxAlerts} {
		body := labelFlood(n, 1<<30)
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				d, err := DecodeAlertmanager(body, "bytemark_server")
				if err != nil || len(d.Alerts) != n {
					b.Fatal(err)
				}
			}
		})
	}
}

// refDecode is how deliveries were decoded before the caps, with
// encoding/json into maps: the walk in jsonscan.go must agree with it on
// everything within the caps.
func refDecode(body []byte, label string) (status, groupKey string, alerts []payloadAlert, ok bool) {
	var p struct {
		Version  string             `json:"version"`
		Status   string             `json:"status"`
		GroupKey string             `json:"groupKey"`
		Alerts   *[]json.RawMessage `json:"alerts"`
	}
	if json.Unmarshal(body, &p) != nil || p.Alerts == nil {
		return "", "", nil, false
	}
	for _, raw := range *p.Alerts {
		var pa struct {
			Status      string            `json:"status"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			StartsAt    string            `json:"startsAt"`
			Fingerprint string            `json:"fingerprint"`
		}
		if json.Unmarshal(raw, &pa) != nil {
			alerts = append(alerts, payloadAlert{status: "<error>"})
			continue
		}
		if len(pa.Labels) == 0 {
			pa.Labels = map[string]string{}
		}
		alerts = append(alerts, payloadAlert{status: pa.Status, startsAt: pa.StartsAt, fingerprint: pa.Fingerprint, labels: pa.Labels,
			summary: pa.Annotations["summary"], description: pa.Annotations["description"]})
	}
	return p.Status, p.GroupKey, alerts, true
}

// FuzzDecodeMatchesEncodingJSON: within the caps, the walk decodes what
// encoding/json decodes.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"alerts":[{"status":"firing","labels":{"bytemark_server":"web1"}}]}`,
		`{"STATUS":"Firing","GroupKey":"g","alerts":[{"Status":"firing","LABELS":{"bytemark_server":"web1","a":"b"},"fingerprint":"x"}]}`,
		`{"alerts":[{"labels":{"bytemark_server":"web1","a\u0062":"\u00e9\n\"q\"","a":"z"},"annotations":{"summ\u0061ry":"s","description":"d","x":"y"}}]}`,
		`{"alerts":[{"labels":{"bytemark_server":"web1"},"labels":{"bytemark_server":"web2","k":"v"}},{"labels":null},null,1,"x",[],{"annotations":{"summary":1}}]}`,
		` { "alerts" : [ { "x" : { "y" : [ "]}\"" , { } ] } , "labels" : { "bytemark_server" : "db1" } } ] , "z" : -1.5e3 } `,
		`{"alerts":[{"labels":{"bytemark_server":"web1","k":"\ud800"},"startsAt":"2025-01-15T10:00:00Z","status":null}]}`,
		`{"alerts":[{"labels":{"bytemark_server":"w\u00e9b"},"fingerprint":"f","startsAt":"x","annotations":null}],"version":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, groupKey, want, ok := refDecode(body, "bytemark_server")
		d, err := DecodeAlertmanager(body, "bytemark_server")
		if ok && err != nil && !strings.Contains(err.Error(), "version") && !strings.Contains(err.Error(), "alerts") {
			t.Fatalf("DecodeAlertmanager = %v; encoding/json decodes it", err)
		}
		if !ok || err != nil || d.DroppedLabels != 0 {
			return // errors are compared by TestDecodeRejects; over the caps, labels differ by design
		}
		if d.Status != strings.ToLower(status) || d.GroupKey != groupKey {
			t.Fatalf("status, group key = %q, %q; encoding/json: %q, %q", d.Status, d.GroupKey, status, groupKey)
		}
		var got []string
		for _, a := range d.Alerts {
			got = append(got, fmt.Sprintf("%s|%s|%s|%s|%v", a.Server, a.Status, a.Key, a.Summary, a.Labels))
		}
		for _, s := range d.Skipped {
			got = append(got, "skipped "+s.Fingerprint+"|"+s.Reason)
		}
		var exp []string
		for i, pa := range want {
			if pa.status == "<error>" {
				exp = append(exp, fmt.Sprintf("skipped |alert %d is not an alert object with string labels", i+1))
				continue
			}
			one, err := DecodeAlertmanager(refBody(pa, status), "bytemark_server")
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range one.Alerts {
				exp = append(exp, fmt.Sprintf("%s|%s|%s|%s|%v", a.Server, a.Status, a.Key, a.Summary, a.Labels))
			}
			for _, s := range one.Skipped {
				exp = append(exp, "skipped "+s.Fingerprint+"|"+s.Reason)
			}
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Fatalf("decoded\n%q\nencoding/json\n%q", got, exp)
		}
	})
}

// refBody re-encodes one alert as encoding/json decoded it.
func refBody(pa payloadAlert, status string) []byte {
	a := map[string]any{"labels": pa.labels, "annotations": map[string]string{"summary": pa.summary, "description": pa.description}}
	for k, v := range map[string]string{"status": pa.status, "startsAt": pa.startsAt, "fingerprint": pa.fingerprint} {
		if v != "" {
			a[k] = v
		}
	}
	b, _ := json.Marshal(map[string]any{"status": status, "alerts": []any{a}})
	return b
}
