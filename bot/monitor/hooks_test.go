package monitor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/redisconn"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// TestHookOneAlertOneReboot replays the real Alertmanager example: one
// reboot, reported in the summary's thread, audited.
func TestHookOneAlertOneReboot(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	// How long the answer takes is BenchmarkHookDelivery's, not budgeted
	// here (a wall-clock budget flakes on a loaded machine).
	ans := h.MustPost(pathAM, bottest.ReadTestdata(t, "alertmanager.json"))
	if ans.Decisions[monitor.DecReboot] != 1 || ans.Status != "accepted" {
		t.Errorf("answer = %+v; want one reboot accepted", ans)
	}
	summary := h.WaitPost("Alertmanager", "Rebooting", "web1.default.acme", "InstanceDown")
	if got := summary.Form.Get("channel"); got != bottest.ChanOps {
		t.Errorf("summary posted to %q; want %q", got, bottest.ChanOps)
	}
	result := h.WaitPost(":white_check_mark:", "web1", "reset")
	if got := result.Form.Get("thread_ts"); got != summary.TS {
		t.Errorf("reboot result in thread %q; want the summary's %q\n%s", got, summary.TS, h.Slack.Dump())
	}
	if n := h.Resets("web1"); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
	h.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	if got := h.AuditOutcomes(monitor.SourceAlertmanager); bottest.Count(got, monitor.DecReboot) != 1 {
		t.Errorf("audit outcomes = %v; want one %q", got, monitor.DecReboot)
	}

	// The resolve goes to the reboot's thread, and only there.
	h.MustPost(pathAM, bottest.ReadTestdata(t, "alertmanager_resolved.json"))
	resolved := h.WaitPost("Resolved", "web1")
	if got := resolved.Form.Get("thread_ts"); got != summary.TS {
		t.Errorf("resolve posted in thread %q; want %q", got, summary.TS)
	}
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecResolved, 1)
	if n := h.Resets("web1"); n != 1 {
		t.Errorf("reset calls after the resolve = %d; want 1", n)
	}
}

// TestHookRepeatedDelivery sends the same delivery ten times at once.
func TestHookRepeatedDelivery(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	body := bottest.ReadTestdata(t, "alertmanager.json")
	var mu sync.Mutex
	total := map[string]int{}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			w := h.Post(pathAM, body)
			if w.Code != http.StatusOK {
				t.Errorf("POST = %d %s; want 200", w.Code, w.Body.String())
				return
			}
			a := bottest.HookAnswer(t, w)
			mu.Lock()
			defer mu.Unlock()
			for k, v := range a.Decisions {
				total[k] += v
			}
		})
	}
	wg.Wait()
	if total[monitor.DecReboot] != 1 || total[monitor.DecDeduped] != 9 {
		t.Errorf("decisions = %v; want 1 reboot and 9 deduped", total)
	}
	h.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	// Repeats are counted, not audited (TestHookFloodKeepsAudit).
	if n := h.alertMetric(monitor.SourceAlertmanager, monitor.DecDeduped); n != "9" {
		t.Errorf("deduped alerts counted = %s; want 9", n)
	}
	if n := h.Resets("web1"); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
	if n := len(h.Slack.Find("chat.postMessage", "Alertmanager")); n != 1 {
		t.Errorf("%d summaries; want 1\n%s", n, h.Slack.Dump())
	}
}

// TestHookCooldown: a second alert for the server inside the cooldown does
// nothing but say so.
func TestHookCooldown(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	t0 := time.Now().Add(-time.Hour)
	h.MustPost(pathAM, amDelivery(firing("web1", t0)))
	h.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	ans := h.MustPost(pathAM, amDelivery(firing("web1", t0.Add(5*time.Minute))))
	if ans.Decisions[monitor.DecCooldown] != 1 {
		t.Errorf("second alert decisions = %v; want cooldown", ans.Decisions)
	}
	h.WaitPost("Not rebooting", "web1", "cooldown")
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecCooldown, 1)
	if n := h.Resets("web1"); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
}

// TestHookDailyCap: the fourth reboot in a day becomes an approval card.
func TestHookDailyCap(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.Cooldown = time.Millisecond })
	t0 := time.Now().Add(-time.Hour)
	for i := range 3 {
		ans := h.MustPost(pathAM, amDelivery(firing("web1", t0.Add(time.Duration(i)*time.Minute))))
		if ans.Decisions[monitor.DecReboot] != 1 {
			t.Fatalf("alert %d decisions = %v; want a reboot", i+1, ans.Decisions)
		}
		h.WaitAudit(monitor.SourceAlertmanager, "done", i+1)
	}
	ans := h.MustPost(pathAM, amDelivery(firing("web1", t0.Add(10*time.Minute))))
	if ans.Decisions[monitor.DecCapped] != 1 {
		t.Fatalf("fourth alert decisions = %v; want capped", ans.Decisions)
	}
	card := h.WaitCard(1)
	if c := h.Slack.Find("chat.postMessage", card.Ticket)[0]; !strings.Contains(c.BlocksJSON(), "REBOOT_MAX_PER_DAY") {
		t.Errorf("card doesn't say why:\n%s", c.BlocksJSON())
	}
	h.WaitPost("approval card posted", "REBOOT_MAX_PER_DAY")
	if n := h.Resets("web1"); n != 3 {
		t.Errorf("reset calls = %d; want 3", n)
	}
}

// addServers adds n servers fleet01… to the fake's default group.
func addServers(t *testing.T, h *harness, n int) []slacktest.Alert {
	t.Helper()
	t0 := time.Now().Add(-time.Hour)
	var as []slacktest.Alert
	for i := range n {
		name := fmt.Sprintf("fleet%02d", i+1)
		if _, err := h.Fake.AddServer("acme", "default", bytemark.Server{Name: name, PowerOn: true}); err != nil {
			t.Fatal(err)
		}
		as = append(as, firing(name, t0))
	}
	return as
}

// TestHookFleetBrake: 20 servers failing at once reboot none.
func TestHookFleetBrake(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	as := addServers(t, h, 20)
	ans := h.MustPost(pathAM, amDelivery(as...))
	if ans.Decisions[monitor.DecBrake] != 20 {
		t.Errorf("decisions = %v; want 20 fleet-brake", ans.Decisions)
	}
	h.WaitPost("fleet brake", "fleet01", "fleet20")
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecBrake, 20)
	if n := h.Resets(""); n != 0 {
		t.Errorf("reset calls = %d; want 0", n)
	}
	if n := len(h.Slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d messages for one delivery; want 1\n%s", n, h.Slack.Dump())
	}
}

// TestHookFleetBrakeAcrossDeliveries: servers failing one delivery at a
// time are rebooted until REBOOT_FLEET_MAX, then the brake holds.
func TestHookFleetBrakeAcrossDeliveries(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	as := addServers(t, h, 8)
	reboots := 0
	for _, a := range as {
		reboots += h.MustPost(pathAM, amDelivery(a)).Decisions[monitor.DecReboot]
	}
	if reboots != 5 {
		t.Errorf("reboots = %d; want 5 (REBOOT_FLEET_MAX)", reboots)
	}
	h.WaitAudit(monitor.SourceAlertmanager, "done", 5)
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecBrake, 3)
	if n := h.Resets(""); n != 5 {
		t.Errorf("reset calls = %d; want 5", n)
	}
}

// TestHookDryRun says what it would do and calls nothing.
func TestHookDryRun(t *testing.T) {
	h := hookHarness(t, monitor.ModeDryRun, nil)
	ans := h.MustPost(pathAM, bottest.ReadTestdata(t, "alertmanager.json"))
	if ans.Decisions[monitor.DecDryRun] != 1 {
		t.Errorf("decisions = %v; want dry-run", ans.Decisions)
	}
	h.WaitPost("Dry run", "Would reboot", "web1")
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecDryRun, 1)
	// A repeat in dry-run is a cooldown in dry-run, not a real one.
	ans = h.MustPost(pathAM, amDelivery(firing("web1", time.Now())))
	if ans.Decisions[monitor.DecDryRun] != 1 {
		t.Errorf("decisions = %v; want dry-run", ans.Decisions)
	}
	h.WaitPost("Dry run", "cooldown")
	if n := h.Writes(); n != 0 {
		t.Errorf("dry run made %d Bytemark writes; want none (only the reads that identify the server)", n)
	}
}

// TestHookOffAndApprove: off ignores (and audits); approve posts a card.
func TestHookOffAndApprove(t *testing.T) {
	h := hookHarness(t, monitor.ModeOff, nil)
	ans := h.MustPost(pathAM, bottest.ReadTestdata(t, "alertmanager.json"))
	if ans.Decisions[monitor.DecIgnored] != 1 {
		t.Errorf("off: decisions = %v; want ignored", ans.Decisions)
	}
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecIgnored, 1)
	if n := len(h.Slack.Calls("")); n != 0 || len(h.Fake.Requests()) != 0 {
		t.Errorf("off: %d Slack calls, %d Bytemark requests; want none", n, len(h.Fake.Requests()))
	}

	h = hookHarness(t, monitor.ModeApprove, nil)
	ans = h.MustPost(pathAM, bottest.ReadTestdata(t, "alertmanager.json"))
	if ans.Decisions[monitor.DecApproval] != 1 {
		t.Errorf("approve: decisions = %v; want approval", ans.Decisions)
	}
	h.WaitCard(1)
	h.WaitPost("approval card posted", "web1")
	if n := h.Writes(); n != 0 {
		t.Errorf("approve: %d writes before approval; want 0", n)
	}
}

// TestHookHoldCancelledByResolve: a resolve inside REBOOT_DELAY cancels;
// an alert that doesn't resolve is rebooted when the hold ends.
func TestHookHoldCancelledByResolve(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.Delay = 500 * time.Millisecond })
	t0 := time.Now().Add(-time.Hour)
	ans := h.MustPost(pathAM, amDelivery(firing("web1", t0), firing("web2", t0)))
	if ans.Decisions[monitor.DecHeld] != 2 {
		t.Fatalf("decisions = %v; want 2 held", ans.Decisions)
	}
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecHeld, 2) // the summary is out: monitoring resolves minutes later
	ans = h.MustPost(pathAM, amDelivery(firing("web1", t0).Resolved(t0.Add(10*time.Minute))))
	if ans.Decisions[monitor.DecCancelled] != 1 {
		t.Fatalf("resolve decisions = %v; want cancelled", ans.Decisions)
	}
	summary := h.WaitPost("Alertmanager", "held for", "web1", "web2")
	cancelled := h.WaitPost("web1", "reboot cancelled")
	if got := cancelled.Form.Get("thread_ts"); got != summary.TS {
		t.Errorf("cancel posted in thread %q; want %q", got, summary.TS)
	}
	// web2's reboot shows that the hold is over for both.
	result := h.WaitPost(":white_check_mark:", "web2", "reset")
	if got := result.Form.Get("thread_ts"); got != summary.TS {
		t.Errorf("held reboot result in thread %q; want %q", got, summary.TS)
	}
	h.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	if n, m := h.Resets("web1"), h.Resets("web2"); n != 0 || m != 1 {
		t.Errorf("resets web1=%d web2=%d; want 0 and 1", n, m)
	}
	got := h.AuditOutcomes(monitor.SourceAlertmanager)
	for _, want := range []string{monitor.DecHeld, monitor.DecCancelled, monitor.DecReboot, "done"} {
		if bottest.Count(got, want) == 0 {
			t.Errorf("audit outcomes %v lack %q", got, want)
		}
	}
}

// TestHookGrafana replays Grafana's example with a bearer token and with
// HMAC signatures.
func TestHookGrafana(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.GrafanaHMACSecret = testHMACSecret })
	body := bottest.ReadTestdata(t, "grafana.json")
	sign := func(ts string, b []byte) string { return slacktest.GrafanaSignature(testHMACSecret, ts, b) }
	send := func(hdr map[string]string, b []byte) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, pathGrafana, bytes.NewReader(b))
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.Handler.ServeHTTP(w, r)
		return w
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	stale := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	for _, c := range []struct {
		name string
		hdr  map[string]string
	}{
		{"wrong signature", map[string]string{slacktest.GrafanaSignatureHeader: sign("", []byte("other"))}},
		{"not hex", map[string]string{slacktest.GrafanaSignatureHeader: "sha256=zz"}},
		{"stale timestamp", map[string]string{slacktest.GrafanaSignatureHeader: sign(stale, body), slacktest.GrafanaTimestampHeader: stale}},
		{"timestamp not signed", map[string]string{slacktest.GrafanaSignatureHeader: sign("", body), slacktest.GrafanaTimestampHeader: now}},
		{"nothing", nil},
	} {
		if w := send(c.hdr, body); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s; want 401", c.name, w.Code, w.Body.String())
		}
	}
	w := send(map[string]string{slacktest.GrafanaSignatureHeader: sign(now, body), slacktest.GrafanaTimestampHeader: now}, body)
	if w.Code != http.StatusOK {
		t.Fatalf("signed with timestamp: %d %s; want 200", w.Code, w.Body.String())
	}
	ans := bottest.HookAnswer(t, w)
	if ans.Decisions[monitor.DecReboot] != 1 || ans.Decisions[monitor.DecSkipped] != 1 {
		t.Errorf("decisions = %v; want one reboot and one skipped (no label)", ans.Decisions)
	}
	h.WaitPost("Grafana", "Rebooting", "web1", "High memory usage", "no bytemark_server label")
	h.WaitAudit(monitor.SourceGrafana, "done", 1)
	// The same delivery signed without a timestamp: refused (it could be
	// replayed; TestHookGrafanaNeedsTimestamp). With the bearer token:
	// deduplicated.
	if w := send(map[string]string{slacktest.GrafanaSignatureHeader: sign("", body)}, body); w.Code != http.StatusUnauthorized {
		t.Errorf("signed without timestamp: %d %s; want 401", w.Code, w.Body.String())
	}
	if a := h.MustPost(pathGrafana, body); a.Decisions[monitor.DecDeduped] != 1 {
		t.Errorf("bearer: %+v; want deduped", a)
	}
	if n := h.Resets("web1"); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
	// An Alertmanager payload on the Grafana route is refused.
	if w := h.Post(pathGrafana, bottest.ReadTestdata(t, "alertmanager.json")); w.Code != http.StatusBadRequest {
		t.Errorf("alertmanager payload on grafana route: %d; want 400", w.Code)
	}
}

// TestHookSkippedWithoutLabel: an alert without the label reboots nothing
// and says why.
func TestHookSkippedWithoutLabel(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	ans := h.MustPost(pathAM, bottest.ReadTestdata(t, "alertmanager_nolabel.json"))
	if ans.Decisions[monitor.DecSkipped] != 1 || len(ans.Decisions) != 1 {
		t.Errorf("decisions = %v; want skipped", ans.Decisions)
	}
	h.WaitPost("Ignored", "InstanceDown", "no bytemark_server label")
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecSkipped, 1)
	if n := len(h.Fake.Requests()); n != 0 {
		t.Errorf("%d Bytemark requests; want none", n)
	}
}

// TestHookAuth: wrong or missing credentials get 401 and do nothing.
func TestHookAuth(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	body := bottest.ReadTestdata(t, "alertmanager.json")
	for _, c := range []struct{ name, path, auth string }{
		{"wrong token", pathAM, "Bearer wrong-token"},
		{"token prefix", pathAM, "Bearer " + bottest.WebhookToken[:5]},
		{"no header", pathAM, ""},
		{"basic", pathAM, "Basic " + bottest.WebhookToken},
		{"grafana wrong token", pathGrafana, "Bearer nope"},
	} {
		r := httptest.NewRequest(http.MethodPost, c.path, bytes.NewReader(body))
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		h.Handler.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d; want 401", c.name, w.Code)
		}
		if strings.Contains(w.Body.String(), bottest.WebhookToken) {
			t.Errorf("%s: answer shows the token", c.name)
		}
	}
	// Bearer scheme is case-insensitive.
	r := httptest.NewRequest(http.MethodPost, pathAM, bytes.NewReader(body))
	r.Header.Set("Authorization", "bearer "+bottest.WebhookToken)
	w := httptest.NewRecorder()
	hookHarness(t, monitor.ModeOff, nil).Handler.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("lowercase bearer: %d; want 200", w.Code)
	}

	// Nothing happened on the refused ones.
	if n := len(h.Slack.Calls("")); n != 0 {
		t.Errorf("%d Slack calls; want none", n)
	}
	if n := len(h.Fake.Requests()); n != 0 {
		t.Errorf("%d Bytemark requests; want none", n)
	}
	if got := h.AuditOutcomes(monitor.SourceAlertmanager); len(got) != 0 {
		t.Errorf("audit = %v; want nothing", got)
	}

	// Not configured: refused, with a clear reason.
	u := newHarness(t, bottest.WithoutExecutor())
	w = u.Post(pathAM, body)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "WEBHOOK_TOKEN") {
		t.Errorf("unconfigured: %d %s; want 401 naming WEBHOOK_TOKEN", w.Code, w.Body.String())
	}
}

// TestHookMalformed: junk gets 400 (or 413), never a 5xx or a panic.
func TestHookMalformed(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.MaxBodyBytes = 64 << 10 })
	for _, c := range []struct {
		name string
		body string
		want int
	}{
		{"empty", "", 400},
		{"not json", "hello", 400},
		{"array", "[1,2]", 400},
		{"truncated", `{"alerts": [`, 400},
		{"no alerts", `{"version":"4","status":"firing"}`, 400},
		{"alerts null", `{"alerts": null}`, 400},
		{"alerts not array", `{"alerts": "x"}`, 400},
		{"empty alerts", `{"alerts": []}`, 400},
		{"wrong version", `{"version":"1","alerts":[{}]}`, 400},
		{"version number", `{"version":4,"alerts":[{}]}`, 400},
		{"nul", "\x00\x01", 400},
		{"too big", `{"alerts":[` + strings.Repeat(`{"labels":{}},`, 10000) + `{}]}`, 413},
	} {
		w := h.Post(pathAM, []byte(c.body))
		if w.Code != c.want {
			t.Errorf("%s: %d %s; want %d", c.name, w.Code, w.Body.String(), c.want)
		}
	}
	// Alerts that aren't objects, or name no server, are skipped: 200.
	for _, body := range []string{
		`{"alerts":[1, "x", null, {"labels": {"bytemark_server": 7}}]}`,
		`{"alerts":[{"labels":{"bytemark_server":"../../etc"},"status":"firing"}]}`,
		`{"alerts":[{"labels":{"bytemark_server":"web1"},"status":"weird"}]}`,
	} {
		if w := h.Post(pathAM, []byte(body)); w.Code != http.StatusOK || bottest.HookAnswer(t, w).Decisions[monitor.DecSkipped] == 0 {
			t.Errorf("%s: %d %s; want 200 with skipped alerts", body, w.Code, w.Body.String())
		}
	}
	if n := h.Writes(); n != 0 {
		t.Errorf("%d Bytemark writes; want none", n)
	}
}

// TestHookBusy: with MaxInFlight deliveries being read, one more is
// refused at once with 503 and Retry-After (Alertmanager retries), and
// nothing is decided for it; when a slot frees, deliveries are taken again.
func TestHookBusy(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.MaxInFlight = 1 })
	// A delivery whose body arrives slowly holds the only slot. A malformed
	// delivery is answered 400 while the slot is free and 503 once the slow
	// one holds it (if a probe holds it when the slow one arrives, the slow
	// one is the one refused, and is sent again).
	var (
		pw    *io.PipeWriter
		slowW *httptest.ResponseRecorder
		done  chan struct{}
		busy  *httptest.ResponseRecorder
	)
	start := func() {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		slow := httptest.NewRequest(http.MethodPost, pathAM, pr)
		slow.Header.Set("Authorization", "Bearer "+bottest.WebhookToken)
		slowW, done = httptest.NewRecorder(), make(chan struct{})
		go func() {
			defer close(done)
			h.Handler.ServeHTTP(slowW, slow)
		}()
	}
	start()
	for deadline := time.Now().Add(10 * time.Second); busy == nil; {
		if time.Now().After(deadline) {
			t.Fatal("no 503 while a delivery held the only slot")
		}
		select {
		case <-done:
			if slowW.Code != http.StatusServiceUnavailable {
				t.Fatalf("slow delivery ended early: %d %s", slowW.Code, slowW.Body.String())
			}
			start()
		default:
		}
		if w := h.Post(pathAM, []byte("{}")); w.Code == http.StatusServiceUnavailable {
			busy = w
		} else if w.Code != http.StatusBadRequest {
			t.Fatalf("probe: %d %s; want 400 or 503", w.Code, w.Body.String())
		}
	}
	if got := busy.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q; want 1", got)
	}
	if a := bottest.HookAnswer(t, busy); !strings.Contains(a.Error, "busy") || a.Status != "" {
		t.Errorf("busy answer = %+v; want a busy error", a)
	}
	// A real delivery refused while busy decides nothing.
	refused := amDelivery(firing("web2", time.Now()))
	if w := h.Post(pathAM, refused); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("delivery while busy: %d %s; want 503", w.Code, w.Body.String())
	}
	if _, err := pw.Write(amDelivery(firing("web1", time.Now()))); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	<-done
	if slowW.Code != http.StatusOK {
		t.Fatalf("slow delivery: %d %s; want 200", slowW.Code, slowW.Body.String())
	}
	// The refused delivery, retried, is decided as new: it was not seen.
	if a := h.MustPost(pathAM, refused); a.Decisions[monitor.DecReboot] != 1 {
		t.Errorf("retried delivery decisions = %v; want one reboot", a.Decisions)
	}
	h.WaitAudit(monitor.SourceAlertmanager, "done", 2)
	if h.Resets("web1") != 1 || h.Resets("web2") != 1 {
		t.Errorf("resets: web1 %d, web2 %d; want one each", h.Resets("web1"), h.Resets("web2"))
	}
}

// TestHookRedisDown: with Redis unreachable the answer is 503, so that
// Alertmanager retries.
func TestHookRedisDown(t *testing.T) {
	rdb, _, err := redisconn.Open("redis://127.0.0.1:1/0?max_retries=-1&dial_timeout=200ms") // as main builds it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	h := hookHarness(t, monitor.ModeOn, nil, bottest.WithoutExecutor(), bottest.WithRedis(rdb))
	w := h.Post(pathAM, bottest.ReadTestdata(t, "alertmanager.json"))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("Redis down: %d %s; want 503", w.Code, w.Body.String())
	}
}

// TestHookLatency: a delivery of 100 alerts is decided within the
// request: every alert gets its reboot. How long that takes is measured by
// BenchmarkHookDelivery, not budgeted here (a wall-clock budget flakes on a
// loaded machine).
func TestHookLatency(t *testing.T) {
	h, body := hundredAlerts(t)
	ans := h.MustPost(pathAM, body)
	if ans.Decisions[monitor.DecReboot] != 100 {
		t.Errorf("decisions = %v", ans.Decisions)
	}
}

// BenchmarkHookDelivery measures how long a delivery of 100 firing alerts
// takes to answer. Each iteration's alerts are new occurrences; after the
// first, the servers are in their cooldown, so the guards decide them.
func BenchmarkHookDelivery(b *testing.B) {
	h, _ := hundredAlerts(b)
	t0 := time.Now().Add(-time.Hour)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var as []slacktest.Alert
		for j := range 100 {
			as = append(as, firing(fmt.Sprintf("srv%03d", j), t0.Add(time.Duration(i+1)*time.Second)))
		}
		body := amDelivery(as...)
		b.StartTimer()
		h.MustPost(pathAM, body)
	}
}

// hundredAlerts returns a webhook harness (no executor; room for 100
// servers) with its scripts loaded, and a delivery of 100 firing alerts.
func hundredAlerts(tb testing.TB) (*harness, []byte) {
	h := newHarness(tb, bottest.WithoutExecutor(), bottest.WithHooks(monitor.ModeOn, func(c *monitor.Config) { c.FleetMax = 200 }))
	t0 := time.Now().Add(-time.Hour)
	var as []slacktest.Alert
	for i := range 100 {
		as = append(as, firing(fmt.Sprintf("srv%03d", i), t0))
	}
	h.MustPost(pathAM, amDelivery(firing("warmup", t0))) // scripts loaded
	return h, amDelivery(as...)
}

// TestHookMrkdwnInjection: alert names, summaries and label values come
// from monitoring and must not ping anyone when echoed into Slack (the
// summary, the approval card, the audit log).
func TestHookMrkdwnInjection(t *testing.T) {
	h := hookHarness(t, monitor.ModeApprove, nil)
	var p map[string]any
	if err := json.Unmarshal(amDelivery(firing("web1", time.Now())), &p); err != nil {
		t.Fatal(err)
	}
	a := p["alerts"].([]any)[0].(map[string]any)
	a["labels"].(map[string]any)["alertname"] = "<!here>"
	a["annotations"].(map[string]any)["summary"] = "<!channel> wake up <@UEVIL0001> & <https://evil.example|click>"
	b, _ := json.Marshal(a)
	var bad map[string]any
	json.Unmarshal(b, &bad)
	bad["labels"].(map[string]any)["bytemark_server"] = "<!everyone>"
	bad["fingerprint"] = "badbadbad"
	p["alerts"] = []any{a, bad}
	body, _ := json.Marshal(p)

	h.MustPost(pathAM, body)
	h.WaitCard(1)
	h.WaitPost("Alertmanager", "Ignored")
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecSkipped, 1)
	pings := []string{"<!here>", "<!channel>", "<!everyone>", "<@UEVIL0001>", "<https://evil"}
	for _, c := range h.Slack.Calls("chat.postMessage") {
		for _, s := range []string{c.Form.Get("text"), c.BlocksJSON()} {
			for _, ping := range pings {
				if strings.Contains(s, ping) {
					t.Errorf("Slack message carries %q from the alert:\n%s", ping, s)
				}
			}
		}
	}
	if len(h.Slack.Find("chat.postMessage", "&lt;!channel&gt;")) == 0 {
		t.Errorf("the alert's summary is not shown, escaped:\n%s", h.Slack.Dump())
	}
	reply := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "audit")
	for _, ping := range pings {
		if strings.Contains(reply.Text, ping) {
			t.Errorf("audit reply carries %q from an alert:\n%s", ping, reply.Text)
		}
	}
}
