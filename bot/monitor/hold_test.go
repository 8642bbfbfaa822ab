package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/internal/bottest"
)

// holdDelay is the hold of these tests: long enough for a delivery to be
// reported, and for a test to act, before it ends.
const holdDelay = 300 * time.Millisecond

// heldDelivery posts a firing alert for server to h (whose bot may not
// run), waits until it is held and reported, and returns the summary.
func heldDelivery(t *testing.T, h *harness, server string, start time.Time) {
	t.Helper()
	ans := h.MustPost(pathAM, amDelivery(firing(server, start)))
	if ans.Decisions[monitor.DecHeld] != 1 {
		t.Fatalf("decisions = %v; want held", ans.Decisions)
	}
}

// noHoldsLeft asserts that no hold is waiting or being decided: there is
// nothing left for any replica to decide later.
func noHoldsLeft(t *testing.T, h *harness) {
	t.Helper()
	hs, err := h.Store.TakeDueHolds(context.Background(), time.Minute, 10)
	if err != nil || len(hs) != 0 {
		t.Errorf("holds left = %+v, %v; want none", hs, err)
	}
}

// TestHookHoldOnceAcrossReplicasAndRestart: a bot holds a reboot and stops
// before the hold ends; two replicas start on the same Redis. The hold is
// decided by one of them, once: one reboot, reported once, in the thread
// of the delivery's summary.
func TestHookHoldOnceAcrossReplicasAndRestart(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.Delay = holdDelay }, bottest.WithoutExecutor())
	heldDelivery(t, h, "web1", time.Now().Add(-time.Hour))
	summary := h.WaitPost("Alertmanager", "held for", "web1")
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecHeld, 1) // the thread is recorded with the audit
	h.Stop()

	r1, r2 := h.Replica(false), h.Replica(false)
	result := r1.WaitPost(":white_check_mark:", "web1", "reset")
	if got := result.Form.Get("thread_ts"); got != summary.TS {
		t.Errorf("held reboot reported in thread %q; want the summary's %q", got, summary.TS)
	}
	r2.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	if got := h.AuditOutcomes(monitor.SourceAlertmanager); bottest.Count(got, monitor.DecReboot) != 1 || bottest.Count(got, "done") != 1 {
		t.Errorf("audit outcomes = %v; want one %q and one done", got, monitor.DecReboot)
	}
	noHoldsLeft(t, h)
	if n := h.Resets("web1"); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
	if n := len(h.Slack.Find("chat.postMessage", "rebooted by reset")); n != 1 {
		t.Errorf("%d reboot results posted; want 1\n%s", n, h.Slack.Dump())
	}
}

// TestHookHoldGuardsAfterHold: the guards are checked when the hold ends,
// not only when the alert came. Two occurrences for web1, in two
// deliveries, are both held (the cooldown hasn't started); when the holds
// end, the first reboots and the second is held back by the cooldown the
// first started, said in its delivery's thread.
func TestHookHoldGuardsAfterHold(t *testing.T) {
	h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.Delay = holdDelay }, bottest.WithoutExecutor())
	t0 := time.Now().Add(-time.Hour)
	heldDelivery(t, h, "web1", t0)
	heldDelivery(t, h, "web1", t0.Add(time.Minute))
	h.WaitAudit(monitor.SourceAlertmanager, monitor.DecHeld, 2)
	h.Stop()
	h.Replica(false)
	h.WaitAudit(monitor.SourceAlertmanager, "done", 1)
	cooled := h.WaitPost("Not rebooting", "web1.default.acme", "after the hold", "cooldown")
	summaries := h.Slack.Find("chat.postMessage", "held for")
	if len(summaries) != 2 {
		t.Fatalf("%d summaries; want 2\n%s", len(summaries), h.Slack.Dump())
	}
	if got := cooled.Form.Get("thread_ts"); got != summaries[0].TS && got != summaries[1].TS {
		t.Errorf("cooldown after the hold posted in thread %q; want a summary's", got)
	}
	got := h.AuditOutcomes(monitor.SourceAlertmanager)
	if bottest.Count(got, monitor.DecReboot) != 1 || bottest.Count(got, monitor.DecCooldown) != 1 {
		t.Errorf("audit outcomes = %v; want one %q and one %q", got, monitor.DecReboot, monitor.DecCooldown)
	}
	noHoldsLeft(t, h)
	if n := h.Resets("web1"); n != 1 {
		t.Errorf("reset calls = %d; want 1", n)
	}
}

// TestHookHoldTakerDies: a replica takes a hold when it ends and dies
// before deciding it. When its lease runs out another replica takes it and
// decides it: the reboot is not lost. But once a replica has begun to
// decide (and may have used the guards and queued the reboot), the next
// one does not decide again: it says so, and reboots nothing.
func TestHookHoldTakerDies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		started bool // the dead replica had begun to decide
	}{{"before deciding", false}, {"while deciding", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := hookHarness(t, monitor.ModeOn, func(c *monitor.Config) { c.Delay = holdDelay }, bottest.WithoutExecutor())
			alert := firing("web1", time.Now().Add(-time.Hour))
			h.MustPost(pathAM, amDelivery(alert))
			summary := h.WaitPost("Alertmanager", "held for", "web1")
			h.WaitAudit(monitor.SourceAlertmanager, monitor.DecHeld, 1)
			ctx := context.Background()
			// The dying replica: takes the hold when it ends, for a short lease.
			var taken []approvals.Held
			h.WaitFor("the hold to end and be taken", func() bool {
				hs, err := h.Store.TakeDueHolds(ctx, 200*time.Millisecond, 10)
				taken = append(taken, hs...)
				return err == nil && len(taken) > 0
			})
			if tc.started {
				if ok, err := h.Store.Once(ctx, monitor.HeldOnceKey(monitor.SourceAlertmanager, alert.Fingerprint+"@"+alert.StartsAt), time.Hour); !ok || err != nil {
					t.Fatalf("Once = %v, %v", ok, err)
				}
			}
			h.Stop()
			r := h.Replica(false)
			if !tc.started {
				result := r.WaitPost(":white_check_mark:", "web1", "reset")
				if got := result.Form.Get("thread_ts"); got != summary.TS {
					t.Errorf("reboot reported in thread %q; want %q", got, summary.TS)
				}
				r.WaitAudit(monitor.SourceAlertmanager, "done", 1)
				if n := h.Resets("web1"); n != 1 {
					t.Errorf("reset calls = %d; want 1", n)
				}
				noHoldsLeft(t, h)
				return
			}
			said := r.WaitPost("Not rebooting", "web1.default.acme", "interrupted", "/bytemark reboot")
			if got := said.Form.Get("thread_ts"); got != summary.TS {
				t.Errorf("interruption reported in thread %q; want %q", got, summary.TS)
			}
			r.WaitAudit(monitor.SourceAlertmanager, monitor.DecInterrupted, 1)
			noHoldsLeft(t, h)
			if n := h.Writes(); n != 0 {
				t.Errorf("%d Bytemark writes; want none", n)
			}
			if strings.Contains(h.Slack.Dump(), "rebooted by reset") {
				t.Errorf("a reboot was reported:\n%s", h.Slack.Dump())
			}
		})
	}
}
