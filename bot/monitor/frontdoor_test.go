package monitor_test

// The webhook front door: what an unauthenticated sender can cost the bot
// (issue 13, points 6 to 9).

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// frontDoor serves h's handler on a real listener (so that read deadlines
// apply) and counts the requests that reached the handler.
type frontDoor struct {
	srv     *httptest.Server
	entered atomic.Int64
}

func newFrontDoor(t *testing.T, h *harness) *frontDoor {
	t.Helper()
	fd := &frontDoor{}
	fd.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fd.entered.Add(1)
		h.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		fd.srv.CloseClientConnections()
		fd.srv.Close()
	})
	return fd
}

// dribble stalls a webhook delivery to path at the front door
// (bottest.Dribble).
func (fd *frontDoor) dribble(t *testing.T, path string, hdr ...string) net.Conn {
	t.Helper()
	return bottest.Dribble(t, fd.srv.Listener.Addr().String(), path, hdr...)
}

// answerOn reads the HTTP answer on a dribbling connection, giving up
// after wait.
func answerOn(t *testing.T, c net.Conn, wait time.Duration) (*http.Response, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// send posts body to path on the real listener with the given headers.
func (fd *frontDoor) send(t *testing.T, path string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, fd.srv.URL+path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := fd.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHookSlowUnverifiedTakeNoSlot: 40 connections with a well-formed but
// bogus Grafana signature, and 10 without any credentials, each sending a
// few bytes of a body and stalling, don't stop a real Alertmanager
// delivery (bearer token) or a real signed Grafana delivery from being
// accepted: no unauthenticated request takes a delivery slot.
func TestHookSlowUnverifiedTakeNoSlot(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.GrafanaHMACSecret = testHMACSecret })
	fd := newFrontDoor(t, h)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for range 40 {
		fd.dribble(t, pathGrafana, slacktest.GrafanaSignatureHeader+": "+strings.Repeat("ab", 32), slacktest.GrafanaTimestampHeader+": "+now)
	}
	var refused []net.Conn
	for range 10 {
		refused = append(refused, fd.dribble(t, pathAM))
	}
	h.WaitFor("the 50 slow connections to reach the handler", func() bool { return fd.entered.Load() >= 50 })

	code, body := fd.send(t, pathAM, amDelivery(firing("web2", time.Now())),
		map[string]string{"Authorization": "Bearer " + bottest.WebhookToken})
	if code != http.StatusOK {
		t.Fatalf("Alertmanager delivery while 40 unverified connections dribble = %d %s; want 200", code, body)
	}
	gf := bottest.ReadTestdata(t, "grafana.json")
	code, body = fd.send(t, pathGrafana, gf, map[string]string{
		slacktest.GrafanaSignatureHeader: slacktest.GrafanaSignature(testHMACSecret, now, gf), slacktest.GrafanaTimestampHeader: now})
	if code != http.StatusOK {
		t.Fatalf("signed Grafana delivery while 40 unverified connections dribble = %d %s; want 200", code, body)
	}
	h.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	h.WaitAudit(monitor.SourceGrafana, "done", 1)
	if h.Resets("web1") != 1 || h.Resets("web2") != 1 {
		t.Errorf("resets: web1 %d, web2 %d; want one each", h.Resets("web1"), h.Resets("web2"))
	}

	// Without credentials: refused without waiting for the body.
	for i, c := range refused {
		resp, err := answerOn(t, c, 10*time.Second)
		if err != nil {
			t.Fatalf("slow connection %d without a token: no answer: %v", i, err)
		}
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Errorf("slow connection %d without a token = %d (close %v); want 401 and the connection closed", i, resp.StatusCode, resp.Close)
		}
	}
}

// TestHookBodyDeadline: a body that doesn't arrive within BodyTimeout is
// answered 408 and the connection closed, whoever sends it; and when the
// pool of unverified reads is full, one more is refused at once while a
// delivery with the bearer token is still accepted.
func TestHookBodyDeadline(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) {
		c.GrafanaHMACSecret = testHMACSecret
		c.BodyTimeout = 300 * time.Millisecond
	})
	fd := newFrontDoor(t, h)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, c := range []struct {
		name, path string
		hdr        []string
	}{
		{"bogus Grafana signature", pathGrafana, []string{slacktest.GrafanaSignatureHeader + ": " + strings.Repeat("ab", 32), slacktest.GrafanaTimestampHeader + ": " + now}},
		{"bearer token", pathAM, []string{"Authorization: Bearer " + bottest.WebhookToken}},
	} {
		conn := fd.dribble(t, c.path, c.hdr...)
		resp, err := answerOn(t, conn, 10*time.Second)
		if err != nil {
			t.Errorf("%s: no answer to a stalled body: %v", c.name, err)
			continue
		}
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("%s: stalled body = %d; want 408", c.name, resp.StatusCode)
		}
		if !resp.Close {
			t.Errorf("%s: the connection of a stalled body is kept open", c.name)
		}
	}

	busy := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) {
		c.GrafanaHMACSecret = testHMACSecret
		c.MaxUnverified = 2
	})
	fd = newFrontDoor(t, busy)
	for range 2 {
		fd.dribble(t, pathGrafana, slacktest.GrafanaSignatureHeader+": "+strings.Repeat("ab", 32), slacktest.GrafanaTimestampHeader+": "+now)
	}
	busy.WaitFor("the 2 slow connections to reach the handler", func() bool { return fd.entered.Load() >= 2 })
	// The two may not have taken their places yet: the third is refused
	// once they have.
	gf := bottest.ReadTestdata(t, "grafana.json")
	busy.WaitFor("a third unverified delivery to be refused as busy", func() bool {
		code, body := fd.send(t, pathGrafana, gf, map[string]string{
			slacktest.GrafanaSignatureHeader: strings.Repeat("cd", 32), slacktest.GrafanaTimestampHeader: now})
		if code != http.StatusServiceUnavailable && code != http.StatusUnauthorized {
			t.Fatalf("third unverified delivery = %d %s; want 503 (or 401 before the pool fills)", code, body)
		}
		return code == http.StatusServiceUnavailable && strings.Contains(body, "busy")
	})
	if code, body := fd.send(t, pathAM, amDelivery(firing("web2", time.Now())),
		map[string]string{"Authorization": "Bearer " + bottest.WebhookToken}); code != http.StatusOK {
		t.Fatalf("bearer delivery with the unverified pool full = %d %s; want 200", code, body)
	}
}

// TestHookGrafanaNeedsTimestamp: a Grafana signature without
// X-Grafana-Alerting-Timestamp could be replayed forever, so it is refused
// unless GrafanaAllowNoTimestamp (GRAFANA_ALLOW_NO_TIMESTAMP) is set.
func TestHookGrafanaNeedsTimestamp(t *testing.T) {
	body := bottest.ReadTestdata(t, "grafana.json")
	send := func(h *harness) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, pathGrafana, bytes.NewReader(body))
		r.Header.Set(slacktest.GrafanaSignatureHeader, slacktest.GrafanaSignature(testHMACSecret, "", body))
		w := httptest.NewRecorder()
		h.Handler.ServeHTTP(w, r)
		return w
	}
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.GrafanaHMACSecret = testHMACSecret })
	w := send(h)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), slacktest.GrafanaTimestampHeader) ||
		!strings.Contains(w.Body.String(), "GRAFANA_ALLOW_NO_TIMESTAMP") {
		t.Errorf("signed without a timestamp = %d %s; want 401 naming the header and GRAFANA_ALLOW_NO_TIMESTAMP", w.Code, w.Body.String())
	}
	if n := len(h.Fake.Requests()); n != 0 {
		t.Errorf("%d Bytemark requests for a refused delivery; want none", n)
	}

	allow := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) {
		c.GrafanaHMACSecret = testHMACSecret
		c.GrafanaAllowNoTimestamp = true
	})
	if w := send(allow); w.Code != http.StatusOK {
		t.Errorf("signed without a timestamp, allowed = %d %s; want 200", w.Code, w.Body.String())
	}
	allow.WaitAudit(monitor.SourceGrafana, "done", 1)
}

// amFlood is an Alertmanager delivery of n firing alerts for server, each
// its own occurrence (told apart by seq).
func amFlood(t *testing.T, server string, seq, n int) []byte {
	t.Helper()
	start := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	as := make([]slacktest.Alert, n)
	for i := range as {
		as[i] = firing(server, start)
		as[i].Fingerprint = fmt.Sprintf("%08x%08x", seq, i)
	}
	return amDelivery(as...)
}

// TestHookFloodKeepsAudit: a flood of alerts doesn't push what people did
// out of the audit log. Webhook decisions have a stream of their own, and
// deduplicated repeats are only counted (bytebot_webhook_alerts_total), so
// `audit web2` still shows the purge after more decisions than the log
// holds; and `audit` shows both kinds, newest first.
func TestHookFloodKeepsAudit(t *testing.T) {
	h := auditCappedHarness(t, 200, monitor.Config{WebhookToken: bottest.WebhookToken, Mode: monitor.ModeOn, Method: "reset"})
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b := h.WaitCard(1)
	if code := h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Fatalf("approve = %d", code)
	}
	h.WaitFor("the purge to be done", func() bool {
		es, err := h.Store.AuditLog(t.Context(), "web2", 20)
		return err == nil && len(es) > 0 && es[0].Outcome == "done"
	})

	const deliveries, per = 5, 100 // 500 decisions, over twice the cap
	for seq := range deliveries {
		h.MustPost(pathAM, amFlood(t, "web1", seq, per))
	}
	// A redelivery: every alert deduplicated.
	if a := h.MustPost(pathAM, amFlood(t, "web1", 0, per)); a.Decisions[monitor.DecDeduped] != per {
		t.Fatalf("redelivery decisions = %v; want %d deduped", a.Decisions, per)
	}
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecCooldown, 150)

	reply := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "audit web2")
	for _, want := range []string{"purge web2", "*requested*", "*approved*", "*done*"} {
		if !strings.Contains(reply.Text, want) {
			t.Errorf("audit web2 after %d alerts lacks %q:\n%s", deliveries*per, want, reply.Text)
		}
	}
	if got := h.AuditOutcomes(monitor.SourceAlertmanager); bottest.Count(got, monitor.DecDeduped) != 0 {
		t.Errorf("audit has %d deduped entries; want none (they are counted in metrics)", bottest.Count(got, monitor.DecDeduped))
	}
	if n := h.alertMetric(monitor.SourceAlertmanager, monitor.DecDeduped); n != "100" {
		t.Errorf("deduped alerts counted = %s; want 100", n)
	}
	// Both kinds, newest first: the latest decisions come before the purge.
	es, err := h.Store.AuditLog(t.Context(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for i, e := range es {
		if i > 0 && e.Time.After(es[i-1].Time) {
			t.Fatalf("audit entry %d (%s) is newer than the one before (%s)", i, e.Time, es[i-1].Time)
		}
		if strings.HasPrefix(e.Action, "purge") {
			last = i
		}
	}
	if last < 0 || es[0].Actor != monitor.SourceAlertmanager {
		t.Errorf("audit: newest by %q, purge at %d; want the webhook's newest first and the purge further down", es[0].Actor, last)
	}
}

// alertMetric is the value of bytebot_webhook_alerts_total for source and
// decision, as the Server's registry has it ("" if absent).
func (h *harness) alertMetric(source, decision string) string {
	h.T.Helper()
	mfs, err := h.Server.Metrics().Gather()
	if err != nil {
		h.T.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bytebot_webhook_alerts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["source"] == source && labels["decision"] == decision {
				return strconv.FormatFloat(m.GetCounter().GetValue(), 'f', -1, 64)
			}
		}
	}
	return ""
}

// labelFloodDelivery is a maximal Alertmanager delivery: 1000 firing
// alerts for server, each its own occurrence (seq tells deliveries apart),
// with as many tiny extra labels as fit in 2 MiB.
func labelFloodDelivery(server string, seq int) []byte {
	const alerts, size = commands.MaxAlerts, 2 << 20
	room := size/alerts - 200
	var b bytes.Buffer
	b.WriteString(`{"version":"4","status":"firing","alerts":[`)
	for i := range alerts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","fingerprint":"%08x%08x","startsAt":"2025-01-15T10:00:00Z","labels":{"alertname":"Down","bytemark_server":%q`, seq, i, server)
		start := b.Len()
		for j := 0; b.Len()-start < room-16; j++ {
			fmt.Fprintf(&b, `,"%x":""`, j)
		}
		b.WriteString(`},"annotations":{"summary":"down"}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestHookMaximalDeliveryMemory measures what the bot allocates to read,
// decode, decide and report a maximal delivery (2 MiB, 1000 alerts packed
// with labels), as a benchmark run: it must stay within a few times the
// body's size (BENCHMARKS.md, "Memory per webhook delivery").
func TestHookMaximalDeliveryMemory(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, nil)
	seq := 0
	res := testing.Benchmark(func(b *testing.B) {
		bodies := make([][]byte, b.N)
		for i := range bodies {
			seq++
			bodies[i] = labelFloodDelivery("web1", seq)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			r := httptest.NewRequest(http.MethodPost, pathAM, bytes.NewReader(bodies[i]))
			r.Header.Set("Authorization", "Bearer "+bottest.WebhookToken)
			w := httptest.NewRecorder()
			h.Handler.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("maximal delivery = %d %s", w.Code, w.Body.String())
			}
		}
	})
	t.Logf("maximal delivery: %d runs, %d B/op, %d allocs/op, %s/op", res.N, res.AllocedBytesPerOp(), res.AllocsPerOp(), time.Duration(res.NsPerOp()))
	if got, limit := res.AllocedBytesPerOp(), int64(16<<20); got > limit {
		t.Errorf("a maximal delivery allocates %d bytes; want at most %d", got, limit)
	}
}

// auditCappedHarness is the harness with reboot and a Store whose audit
// streams are capped at about auditMax entries each.
func auditCappedHarness(t *testing.T, auditMax int64, reboot monitor.Config) *harness {
	t.Helper()
	return newHarness(t, bottest.WithAuditMax(auditMax), func(s *bottest.Setup) { s.Monitor = reboot })
}
