package bot

// The decision pipeline of the monitoring webhooks (hooks.go): each alert
// of a delivery goes through the guards and its decision is committed.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// A result is the decision about one alert.
type result struct {
	alert  commands.Alert
	server string // canonical name when identified, else fully qualified
	key    string // the server's guard key (serverKey): its ID when identified
	occ    string // the occurrence's key, for Redis and the audit log
	// fleet and holdKey stay set as decided
	decision string
	reason   string
	dry      bool   // dry-run: decision is what would have happened
	card     bool   // the decision posts an approval card
	pending  string // Schedule key of the reboot waiting for the summary's thread
	job      approvals.Job
	thread   string // where the decision was reported
	err      error
	release  func() // drops the dedupe claim when the decision failed
}

// goesOn reports whether the guards let r go on to the fleet brake: to a
// reboot, or to an approval card.
func (r *result) goesOn() bool { return r.decision == "" || r.card }

// metric is the decision's metric label.
func (r *result) metric() string {
	switch {
	case r.err != nil:
		return decError
	case r.dry && r.decision != decDeduped:
		return decDryRun
	}
	return r.decision
}

// delivery is one webhook delivery being decided and reported.
type delivery struct {
	h       *hooks
	d       commands.Delivery
	source  string
	reqID   string
	log     *slog.Logger
	now     time.Time
	results []*result
}

// parallel runs f(0..n-1) on at most 64 goroutines.
func parallel(n int, f func(i int)) {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// occurrence makes the Redis and audit key of an alert occurrence.
func occurrence(source, key string) string {
	k := source + ":" + key
	if len(k) > 120 || strings.ContainsAny(k, " ;()\n") {
		sum := sha256.Sum256([]byte(k))
		k = source + ":h" + hex.EncodeToString(sum[:12])
	}
	return k
}

func jobID(kind, occ string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + occ))
	return "hk" + hex.EncodeToString(sum[:8])
}

// decide decides every alert of the delivery and commits the decisions.
// The error is the first Redis failure; alerts it hit are left undecided
// (their dedupe claims dropped) so that a redelivery decides them.
func (dl *delivery) decide(ctx context.Context) error {
	h, cfg := dl.h, dl.h.cfg
	store := h.s.Store
	dl.results = make([]*result, len(dl.d.Alerts))
	for i, a := range dl.d.Alerts {
		dl.results[i] = &result{alert: a, server: a.Server, occ: occurrence(dl.source, a.Key)}
	}
	// Phase 1: deduplication (the claims of all alerts in one round trip),
	// then the servers' identities; resolves are decided here.
	claims := make([]string, len(dl.results))
	for i, r := range dl.results {
		kind := "firing"
		if r.alert.Status == commands.StatusResolved {
			kind = "resolved"
		}
		claims[i] = "hooks:" + kind + ":" + r.occ
	}
	tokens, lockErr := store.LockEach(ctx, claims, cfg.DedupeTTL)
	parallel(len(dl.results), func(i int) {
		r, claim := dl.results[i], claims[i]
		if lockErr != nil {
			r.err = lockErr
			return
		}
		token := tokens[i]
		if token == "" {
			r.decision, r.reason = decDeduped, "already handled (same fingerprint and start time)"
			return
		}
		r.release = func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if err := store.Unlock(ctx, claim, token); err != nil {
				dl.log.Warn("dropping dedupe claim", "err", err)
			}
		}
		if r.alert.Status == commands.StatusResolved {
			r.decision, r.reason = decResolved, "resolved"
			if cfg.Delay > 0 {
				ok, err := store.CancelScheduled(ctx, "hooks:hold:"+r.occ)
				if err != nil {
					r.err = err
					return
				}
				if ok {
					r.decision, r.reason = decCancelled, "resolved during the hold; reboot cancelled"
				}
			}
		}
	})
	dl.identify(ctx)
	// The fleet brake counts the distinct servers newly failing.
	fresh := map[string]bool{}
	for _, r := range dl.results {
		if r.err == nil && r.decision == "" {
			fresh[r.key] = true
		}
	}
	// Phase 2: hold, or the per-server guards (the cooldowns of all
	// alerts in one round trip).
	var held, guarded []*result
	var cooling []string // guarded[i]'s cooldown key
	for _, r := range dl.results {
		if r.err != nil || r.decision != "" {
			continue
		}
		r.dry = cfg.Mode == RebootDryRun
		switch {
		case cfg.Mode == RebootOff:
			r.decision, r.reason = decIgnored, "AUTO_REBOOT is off"
		case cfg.Delay > 0 && !r.dry:
			held = append(held, r)
		default:
			guarded = append(guarded, r)
			cooling = append(cooling, r.keyPrefix()+r.key)
		}
	}
	parallel(len(held), func(i int) { held[i].err = dl.hold(ctx, held[i], len(fresh)) })
	cools, coolErr := store.CooldownEach(ctx, cooling, cfg.Cooldown)
	var candidates []*result
	var mu sync.Mutex
	parallel(len(guarded), func(i int) {
		r := guarded[i]
		if coolErr != nil {
			r.err = coolErr
			return
		}
		if r.err = h.guard(ctx, r, cools[i]); r.err == nil && r.goesOn() {
			mu.Lock()
			candidates = append(candidates, r)
			mu.Unlock()
		}
	})
	// Phase 3: the fleet brake, then the action.
	servers := map[string]bool{}
	for _, r := range candidates {
		servers[r.key] = true
	}
	parallel(len(candidates), func(i int) {
		r := candidates[i]
		if r.err = h.fleet(ctx, r, len(servers)); r.err != nil || r.decision == decBrake {
			return
		}
		r.err = dl.act(ctx, r)
	})
	var first error
	for _, r := range dl.results {
		if r.err != nil {
			dl.log.Error("deciding on an alert", "server", r.server, "err", r.err)
			if r.release != nil {
				r.release()
			}
			if first == nil {
				first = r.err
			}
		}
	}
	return first
}

// identify resolves the server of every alert still to decide, once per
// name written (concurrently), so that the guards key on its ID and people
// see its canonical name. A server the API doesn't know, or not by that
// name (a wrong hostname suffix), keeps the name as written, fully
// qualified: the reboot job refuses it with its own message. When the API
// can't be asked, the alert is left undecided (its claim dropped), so that
// monitoring's retry decides it, rather than guarded under another key.
func (dl *delivery) identify(ctx context.Context) {
	s := dl.h.s
	byName := map[string][]*result{}
	var names []string
	for _, r := range dl.results {
		if r.err != nil || r.decision == decDeduped {
			continue
		}
		if byName[r.alert.Server] == nil {
			names = append(names, r.alert.Server)
		}
		byName[r.alert.Server] = append(byName[r.alert.Server], r)
	}
	// One read per group named more than once, per server otherwise.
	var ids map[string]bytemark.Identity
	var errs map[string]error
	if dl.h.cfg.Mode != RebootOff { // off touches nothing, reads included
		ids, errs = s.api.IdentifyAll(ctx, names)
	}
	var unknown []string
	for _, name := range names {
		id, ok := ids[name]
		err := errs[name]
		server := name
		switch {
		case ok:
			server = id.Name.String()
		case err == nil, bytemark.IsNotFound(err), bytemark.IsWrongSuffix(err):
			// Off, or a server the API doesn't know by that name.
			if err != nil {
				unknown = append(unknown, name)
			}
			if n, err := s.api.ResolveName(ctx, name); err == nil {
				server = n.String()
			}
		default:
			for _, r := range byName[name] {
				r.err = fmt.Errorf("bot: identifying server %s: %w", name, err)
			}
			continue
		}
		for _, r := range byName[name] {
			r.server, r.key = server, serverKey(id, server)
		}
	}
	if len(unknown) > 0 {
		dl.log.Warn("alerts for servers the API doesn't know by that name", "count", len(unknown), "servers", unknown[:min(len(unknown), 10)])
	}
}

// hold schedules the alert's decision for when the hold ends.
func (dl *delivery) hold(ctx context.Context, r *result, fleet int) error {
	cfg := dl.h.cfg
	job := dl.job(r, "")
	m := jobMetaOf(&job)
	m.Phase, m.Fleet = phaseHeld, fleet
	job.Meta = m.encode(job.Meta)
	if _, err := dl.h.s.Store.Schedule(ctx, "hooks:hold:"+r.occ, job, dl.now.Add(cfg.Delay)); err != nil {
		return err
	}
	r.decision = decHeld
	r.reason = fmt.Sprintf("held for %s (REBOOT_DELAY); a resolve before then cancels the reboot", slackui.Roughly(cfg.Delay))
	return nil
}

// job is the reboot job for r.
func (dl *delivery) job(r *result, thread string) approvals.Job {
	a := r.alert.Reboot(dl.h.cfg.Method)
	a.Target = r.server
	return approvals.Job{
		Command:     a.String(),
		RequestedBy: dl.source,
		Channel:     dl.h.s.Config.Channel,
		ThreadTS:    thread,
		Origin:      dl.source,
		Server:      r.server,
		Meta: jobMeta{
			Req:        dl.reqID,
			Reason:     alertReason(dl.source, r.alert),
			Source:     dl.source,
			Occurrence: r.occ,
		}.encode(nil),
	}
}

// alertReason describes the alert behind a reboot.
func alertReason(source string, a commands.Alert) string {
	// Name and Summary come from monitoring: escaped, so that an alert
	// can't ping the channel (<!channel>) or anyone in it.
	s := commands.Escape(cmpOr(a.Name, "an alert"))
	if a.Summary != "" {
		s += ": " + commands.Escape(a.Summary)
	}
	return slackui.Truncate(s+" ("+source+")", 400)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// keyPrefix keeps dry-run guards apart from real ones.
func (r *result) keyPrefix() string {
	if r.dry {
		return "dry:reboot:"
	}
	return "reboot:"
}

// guard applies the per-server guards: cooldown (cool is its outcome,
// asked for by the caller so that a delivery asks for all its alerts at
// once), allowlist and daily cap. It leaves r.decision empty when r may go on to the fleet brake, with
// r.card set when it would need an approval card.
func (h *hooks) guard(ctx context.Context, r *result, cool approvals.CooldownResult) error {
	cfg, store := h.cfg, h.s.Store
	if !cool.OK {
		r.decision = decCooldown
		r.reason = fmt.Sprintf("cooldown: monitoring acted on it less than %s ago (REBOOT_COOLDOWN); %s left", slackui.Roughly(cfg.Cooldown), slackui.Roughly(cool.Remaining))
		return nil
	}
	if cfg.Mode == RebootApprove {
		r.card, r.reason = true, "AUTO_REBOOT is approve"
		return nil
	}
	if !cfg.allowed(r.server) {
		r.card, r.reason = true, "not in REBOOT_ALLOW, so not rebooted automatically"
		r.decision = decNotAllowed
		return nil
	}
	ok, n, err := store.RateLimit(ctx, r.keyPrefix()+r.key, cfg.MaxPerDay, 24*time.Hour)
	if err != nil {
		return err
	}
	if !ok {
		r.card = true
		r.decision = decCapped
		r.reason = fmt.Sprintf("already rebooted %d times in 24 hours (REBOOT_MAX_PER_DAY %d), so not rebooted automatically", n, cfg.MaxPerDay)
		return nil
	}
	if why := h.s.Config.Policy.Why(commands.Reboot{Target: r.server, Method: cfg.Method}); why != "" {
		r.card, r.reason = true, "APPROVAL_ACTIONS includes "+why
	}
	return nil
}

// fleet applies the fleet brake to r; n is how many distinct servers the
// delivery brings at once.
func (h *hooks) fleet(ctx context.Context, r *result, n int) error {
	cfg := h.cfg
	ok, count, err := h.s.Store.DistinctLimit(ctx, r.keyPrefix()+"fleet", r.key, cfg.FleetMax, cfg.FleetWindow)
	if err != nil {
		return err
	}
	why := ""
	switch {
	case n > cfg.FleetMax:
		why = fmt.Sprintf("%d servers failing at once", n)
	case !ok:
		why = fmt.Sprintf("%d servers already acted on within %s", count, slackui.Roughly(cfg.FleetWindow))
	}
	if why != "" {
		r.card = false
		r.decision = decBrake
		r.reason = fmt.Sprintf("fleet brake: %s (more than REBOOT_FLEET_MAX %d) looks like a network or monitoring fault, so automatic reboots are paused", why, cfg.FleetMax)
	}
	return nil
}

// act commits what passed the guards: an approval card or a reboot, or in
// dry-run what would have been done.
func (dl *delivery) act(ctx context.Context, r *result) error {
	h := dl.h
	switch {
	case r.card && len(h.s.Config.Approvers) == 0:
		r.card = false
		r.decision = decNoApprovers
		r.reason += "; it needs approval but no APPROVERS are configured, so nothing was done"
		return nil
	case r.card:
		if r.decision == "" {
			r.decision = decApproval
		}
		if r.dry {
			return nil
		}
		job := dl.job(r, "")
		job.ID = jobID("card", r.occ)
		m := jobMetaOf(&job)
		m.Phase, m.Reason = phaseAsk, alertReason(dl.source, r.alert)+"; "+r.reason
		job.Meta = m.encode(job.Meta)
		_, err := h.s.Store.Enqueue(ctx, job)
		return err
	}
	r.decision = decReboot
	r.reason = "rebooting (" + h.cfg.Method + ")"
	if r.dry {
		return nil
	}
	// Wait for the summary (its thread); if it never comes, run anyway.
	r.job = dl.job(r, "")
	r.job.ID = jobID("reboot", r.occ)
	r.pending = "hooks:pending:" + r.occ
	_, err := h.s.Store.Schedule(ctx, r.pending, r.job, dl.now.Add(h.cfg.ReportGrace))
	return err
}
