package monitor

// Report: one summary per delivery in the channel, the reboots queued in
// its thread, resolves in the threads of what they resolve, the audit log.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
)

// report posts the delivery's summary, queues its reboots in the summary's
// thread, posts resolves in the threads of what they caused, and audits
// every decision. It runs after the answer.
func (dl *delivery) report(ctx context.Context) {
	h := dl.h
	s := h.s
	channel := s.Config.Channel
	// Resolves (and holds cancelled by one) go to the thread of the alert's
	// earlier report.
	threads := map[string][]*result{}
	var lines []string
	var braked []*result
	for _, r := range dl.results {
		switch {
		case r.err != nil:
			// Not posted: monitoring retries (503), and each retry would
			// post again while Redis is down. Logged and counted instead.
		case r.decision == DecResolved || r.decision == DecCancelled:
			if t := h.threadOf(ctx, r.occ); t != "" {
				r.thread = t
				threads[t] = append(threads[t], r)
			} else if r.decision == DecCancelled {
				lines = append(lines, dl.line(r))
			}
		case r.decision == DecBrake:
			braked = append(braked, r)
		case r.decision == DecDeduped || r.decision == DecIgnored:
		default:
			lines = append(lines, dl.line(r))
		}
	}
	if len(braked) > 0 {
		var names []string
		for _, r := range braked {
			if !slices.Contains(names, commands.Code(r.server)) {
				names = append(names, commands.Code(r.server))
			}
		}
		if len(names) > 20 {
			names = append(names[:20], fmt.Sprintf("and %d more", len(names)-20))
		}
		lines = append(lines, fmt.Sprintf(":octagonal_sign: %sNot rebooting %s: %s. Reboot by hand with `/bytemark reboot SERVER` if needed.",
			dryPrefix(braked[0]), strings.Join(names, ", "), braked[0].reason))
	}
	if skipped := dl.skipped(ctx); len(skipped) > 0 {
		lines = append(lines, skipped...)
	}
	ts := ""
	if len(lines) > 0 {
		if len(lines) > 25 {
			lines = append(lines[:25], fmt.Sprintf("…and %d more; see `/bytemark audit`.", len(lines)-25))
		}
		head := fmt.Sprintf("*%s*: %s", sourceTitle(dl.source), alertCount(dl.d))
		var err error
		ts, err = s.Poster.Post(ctx, channel, "", slackui.Text(head+"\n"+strings.Join(lines, "\n")))
		if err != nil {
			dl.log.Error("posting the webhook summary", "err", err)
		}
	}
	for _, r := range dl.results {
		if r.pending == "" || r.err != nil {
			continue
		}
		ok, err := s.Store.CancelScheduled(ctx, r.pending)
		switch {
		case err != nil:
			dl.log.Error("taking back a pending reboot; it runs when its grace ends", "server", r.server, "err", err)
		case !ok:
			dl.log.Warn("pending reboot already released without the summary's thread", "server", r.server)
		default:
			r.job.ThreadTS = ts
			if _, err := s.Store.Enqueue(ctx, r.job); err != nil {
				// Put it back so that it runs anyway.
				dl.log.Error("queueing a reboot; rescheduling it", "server", r.server, "err", err)
				if _, err := s.Store.Schedule(ctx, r.pending, r.job, s.Now()); err != nil {
					dl.log.Error("rescheduling a reboot: it is lost", "server", r.server, "err", err)
				}
			}
		}
	}
	entries := make([]approvals.Entry, 0, len(dl.results))
	reported := map[string]string{} // occurrence → thread
	for _, r := range dl.results {
		// Repeats are counted (bytebot_webhook_alerts_total), not audited:
		// a flood of them would only push older decisions out.
		if r.err != nil || r.decision == DecDeduped {
			continue
		}
		if r.thread == "" && r.decision != DecDeduped && r.decision != DecIgnored {
			r.thread = ts
		}
		if r.thread != "" {
			reported[r.occ] = r.thread
		}
		outcome := r.decision
		reason := r.reason
		if r.dry && r.decision != DecDeduped {
			outcome, reason = DecDryRun, "would be "+r.decision+": "+r.reason
		}
		a := r.alert.Reboot(h.cfg.Method)
		a.Target = r.server
		entries = append(entries, approvals.Entry{Time: s.Now(), Actor: dl.source, Action: a.String(), Server: r.server,
			Outcome: outcome, Detail: auditDetail(reason, r.alert.Name, r.occ)})
	}
	if err := s.Store.SetThreads(ctx, reported, threadTTL); err != nil {
		dl.log.Error("recording the threads of alerts", "err", err, "alerts", len(reported))
	}
	if err := s.Store.AuditDecisions(ctx, entries...); err != nil {
		dl.log.Error("writing audit entries", "err", err, "entries", len(entries))
	}
	for t, rs := range threads {
		var b strings.Builder
		for _, r := range rs {
			if r.decision == DecCancelled {
				fmt.Fprintf(&b, ":white_check_mark: %s resolved during the hold: reboot cancelled (%s).\n", commands.Code(r.server), alertReason(dl.source, r.alert))
			} else {
				fmt.Fprintf(&b, ":white_check_mark: Resolved: %s (%s).\n", commands.Code(r.server), alertReason(dl.source, r.alert))
			}
		}
		if _, err := s.Poster.Post(ctx, channel, t, slackui.Text(strings.TrimSuffix(b.String(), "\n"))); err != nil {
			dl.log.Error("posting a resolve", "err", err)
		}
	}
}

// skipped reports the alerts that name no server, each once a day.
func (dl *delivery) skipped(ctx context.Context) []string {
	var lines []string
	for _, sk := range dl.d.Skipped {
		key := "hooks:skipped:" + occurrence(dl.source, sk.Fingerprint+"|"+sk.Reason)
		token, err := dl.h.s.Store.Lock(ctx, key, 24*time.Hour)
		if err != nil || token == "" {
			continue
		}
		dl.h.audit(ctx, dl.log, approvals.Entry{Actor: dl.source, Outcome: DecSkipped,
			Detail: slackui.Truncate(cmpOr(sk.Name, "an alert")+": "+sk.Reason, 300)})
		lines = append(lines, fmt.Sprintf(":grey_question: Ignored %s: %s.", commands.Code(cmpOr(sk.Name, "an alert")), commands.Escape(sk.Reason)))
	}
	return lines
}

func dryPrefix(r *result) string {
	if r.dry {
		return "Dry run (AUTO_REBOOT=dry-run), nothing done: "
	}
	return ""
}

// line is the summary line of one decision.
func (dl *delivery) line(r *result) string {
	why := alertReason(dl.source, r.alert)
	srv := commands.Code(r.server)
	var s string
	switch r.decision {
	case DecReboot:
		s = fmt.Sprintf(":arrows_counterclockwise: Rebooting %s (%s), for %s", srv, dl.h.cfg.Method, why)
		if r.dry {
			s = fmt.Sprintf(":arrows_counterclockwise: Would reboot %s (%s), for %s", srv, dl.h.cfg.Method, why)
		}
	case DecHeld:
		s = fmt.Sprintf(":hourglass_flowing_sand: %s: %s. Alert: %s", srv, r.reason, why)
	case DecCooldown:
		s = fmt.Sprintf(":snowflake: Not rebooting %s: %s. Alert: %s", srv, r.reason, why)
	case DecNotAllowed, DecCapped, DecApproval:
		verb := "approval card posted"
		if r.dry {
			verb = "would post an approval card"
		}
		s = fmt.Sprintf(":raised_hand: %s: %s; %s. Alert: %s", srv, r.reason, verb, why)
	case DecNoApprovers:
		s = fmt.Sprintf(":warning: Not rebooting %s: %s. Alert: %s", srv, r.reason, why)
	case DecCancelled:
		s = fmt.Sprintf(":white_check_mark: %s: %s. Alert: %s", srv, r.reason, why)
	default:
		s = fmt.Sprintf("%s: %s. Alert: %s", srv, r.reason, why)
	}
	return dryPrefix(r) + s
}

func sourceTitle(source string) string {
	if source == SourceGrafana {
		return "Grafana"
	}
	return "Alertmanager"
}

func alertCount(d commands.Delivery) string {
	firing, resolved := 0, 0
	for _, a := range d.Alerts {
		if a.Status == commands.StatusResolved {
			resolved++
		} else {
			firing++
		}
	}
	var parts []string
	if firing > 0 {
		parts = append(parts, fmt.Sprintf("%d firing", firing))
	}
	if resolved > 0 {
		parts = append(parts, fmt.Sprintf("%d resolved", resolved))
	}
	if n := len(d.Skipped); n > 0 {
		parts = append(parts, fmt.Sprintf("%d without a server", n))
	}
	return strings.Join(parts, ", ")
}

// auditDetail describes an alert decision for the audit log: why, and
// which alert occurrence (its key, as in the logs). The thread it was
// reported in is kept apart (approvals.Store.SetThreads); nothing reads
// this text back.
func auditDetail(reason, name, occ string) string {
	return fmt.Sprintf("%s (alert %s; key=%s)", slackui.Truncate(reason, 300), slackui.Truncate(cmpOr(name, "?"), 80), occ)
}

// threadTTL is how long the thread of an alert occurrence is remembered
// for its resolve: far longer than an alert stays firing.
const threadTTL = 30 * 24 * time.Hour

// threadOf returns the thread the alert occurrence occ was reported in,
// or "" (none, or Redis can't say: then it is reported in the channel).
func (h *Hooks) threadOf(ctx context.Context, occ string) string {
	t, err := h.s.Store.Thread(ctx, occ)
	if err != nil {
		h.s.Logger.Warn("reading the thread of an alert", "err", err)
	}
	return t
}

// audit writes one audit entry about a webhook decision, logging (not
// failing) when it can't.
func (h *Hooks) audit(ctx context.Context, log *slog.Logger, e approvals.Entry) {
	if e.Time.IsZero() {
		e.Time = h.s.Now()
	}
	if err := h.s.Store.AuditDecisions(ctx, e); err != nil {
		log.Error("writing audit entry", "err", err, "entry_action", e.Action, "outcome", e.Outcome)
	}
}
