package bot

// Reporting the decisions of the monitoring webhooks (hooks.go): one
// summary per delivery in the channel, the audit log, and held reboots
// when their hold ends.

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
		case r.decision == decResolved || r.decision == decCancelled:
			if t := h.threadOf(ctx, r.occ); t != "" {
				r.thread = t
				threads[t] = append(threads[t], r)
			} else if r.decision == decCancelled {
				lines = append(lines, dl.line(r))
			}
		case r.decision == decBrake:
			braked = append(braked, r)
		case r.decision == decDeduped || r.decision == decIgnored:
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
		if r.err != nil || r.decision == decDeduped {
			continue
		}
		if r.thread == "" && r.decision != decDeduped && r.decision != decIgnored {
			r.thread = ts
		}
		if r.thread != "" {
			reported[r.occ] = r.thread
		}
		outcome := r.decision
		reason := r.reason
		if r.dry && r.decision != decDeduped {
			outcome, reason = decDryRun, "would be "+r.decision+": "+r.reason
		}
		a := r.alert.Reboot(h.cfg.Method)
		a.Target = r.server
		entries = append(entries, approvals.Entry{Time: s.Now(), Actor: dl.source, Action: a.String(), Server: r.server,
			Outcome: outcome, Detail: auditDetail(reason, r.alert.Name, r.occ, r.thread)})
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
			if r.decision == decCancelled {
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
		auditHook(ctx, dl.h.s, dl.log, approvals.Entry{Actor: dl.source, Outcome: decSkipped,
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
	case decReboot:
		s = fmt.Sprintf(":arrows_counterclockwise: Rebooting %s (%s), for %s", srv, dl.h.cfg.Method, why)
		if r.dry {
			s = fmt.Sprintf(":arrows_counterclockwise: Would reboot %s (%s), for %s", srv, dl.h.cfg.Method, why)
		}
	case decHeld:
		s = fmt.Sprintf(":hourglass_flowing_sand: %s: %s. Alert: %s", srv, r.reason, why)
	case decCooldown:
		s = fmt.Sprintf(":snowflake: Not rebooting %s: %s. Alert: %s", srv, r.reason, why)
	case decNotAllowed, decCapped, decApproval:
		verb := "approval card posted"
		if r.dry {
			verb = "would post an approval card"
		}
		s = fmt.Sprintf(":raised_hand: %s: %s; %s. Alert: %s", srv, r.reason, verb, why)
	case decNoApprovers:
		s = fmt.Sprintf(":warning: Not rebooting %s: %s. Alert: %s", srv, r.reason, why)
	case decCancelled:
		s = fmt.Sprintf(":white_check_mark: %s: %s. Alert: %s", srv, r.reason, why)
	default:
		s = fmt.Sprintf("%s: %s. Alert: %s", srv, r.reason, why)
	}
	return dryPrefix(r) + s
}

func sourceTitle(source string) string {
	if source == sourceGrafana {
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

// auditDetail records an alert decision so that a later resolve can find
// the thread it was reported in.
func auditDetail(reason, name, occ, thread string) string {
	return fmt.Sprintf("%s (alert %s; key=%s; thread=%s)", slackui.Truncate(reason, 300), slackui.Truncate(cmpOr(name, "?"), 80), occ, thread)
}

// threadTTL is how long the thread of an alert occurrence is remembered
// for its resolve: far longer than an alert stays firing.
const threadTTL = 30 * 24 * time.Hour

// threadOf returns the thread the alert occurrence occ was reported in,
// or "" (none, or Redis can't say: then it is reported in the channel).
func (h *hooks) threadOf(ctx context.Context, occ string) string {
	t, err := h.s.Store.Thread(ctx, occ)
	if err != nil {
		h.s.Logger.Warn("reading the thread of an alert", "err", err)
	}
	return t
}

// runHeld decides a job held by REBOOT_DELAY once its hold is over: the
// guards and the mode as they are now, reported in the thread of the
// delivery that held it.
func (e *execution) runHeld(ctx context.Context, a commands.Action) (string, bool) {
	h := e.s.hooks
	m := jobMetaOf(e.job)
	source, occ := cmpOr(m.Source, e.job.Origin), m.Occurrence
	thread := h.threadOf(ctx, occ)
	e.job.ThreadTS = thread
	alert := commands.Alert{Server: a.Server(), Name: "", Key: occ}
	r := &result{alert: alert, server: a.Server(), key: serverKey(e.id, a.Server()), occ: occ}
	fleet := m.Fleet
	var err error
	switch h.cfg.Mode {
	case RebootOff:
		r.decision, r.reason = decIgnored, "AUTO_REBOOT is off"
	case RebootDryRun:
		r.decision, r.reason = decIgnored, "AUTO_REBOOT is dry-run now"
	default:
		var cool approvals.CooldownResult
		cool.OK, cool.Remaining, err = e.s.Store.Cooldown(ctx, r.keyPrefix()+r.key, h.cfg.Cooldown)
		if err == nil {
			err = h.guard(ctx, r, cool)
		}
		if err == nil && r.goesOn() {
			err = h.fleet(ctx, r, fleet)
		}
		switch {
		case err != nil || !r.goesOn():
		case r.card && !e.s.canAsk(a):
			r.card, r.decision = false, decNoApprovers
			r.reason += "; it needs approval but no one may approve it (APPROVERS, or approvers in a policy rule for it), so nothing was done"
		case r.card:
			r.decision = cmpOr(r.decision, decApproval)
		default:
			r.decision, r.reason = decReboot, "the hold is over and the alert didn't resolve: rebooting ("+h.cfg.Method+")"
		}
	}
	if err != nil {
		e.logErr("deciding a held reboot", err)
		e.post(ctx, e.job.Channel, thread, fmt.Sprintf(":x: Not rebooting %s after the hold: the state store is unavailable (ref %s).", commands.Code(a.Server()), e.ref()))
		h.alerts.WithLabelValues(source, decError).Inc()
		return "failed", true
	}
	h.alerts.WithLabelValues(source, r.decision).Inc()
	auditHook(ctx, e.s, e.log, approvals.Entry{Actor: source, Action: a.String(), Server: a.Server(), Outcome: r.decision,
		Detail: auditDetail(r.reason, "", occ, thread)})
	switch {
	case r.card:
		return e.ask(ctx, a, e.job.Channel, "", m.Reason+"; "+r.reason)
	case r.decision == decReboot:
		return e.runPlain(ctx, a)
	case r.decision == decIgnored:
		return r.decision, false
	}
	e.post(ctx, e.job.Channel, thread, fmt.Sprintf(":octagonal_sign: Not rebooting %s after the hold: %s.", commands.Code(a.Server()), r.reason))
	return r.decision, false
}

// auditHook writes one audit entry about a webhook decision, logging (not
// failing) when it can't.
func auditHook(ctx context.Context, s *Server, log *slog.Logger, e approvals.Entry) {
	if e.Time.IsZero() {
		e.Time = s.Now()
	}
	if err := s.Store.AuditDecisions(ctx, e); err != nil {
		log.Error("writing audit entry", "err", err, "entry_action", e.Action, "outcome", e.Outcome)
	}
}
