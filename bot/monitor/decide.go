package monitor

// Decide: each alert of a delivery goes through the guards and its
// decision is committed (the job, delayed job, hold or approval card).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

// A result is the decision about one alert.
type result struct {
	alert    commands.Alert
	server   string // canonical name when identified, else fully qualified
	key      string // the server's guard key (bot.ServerKey): its ID when identified
	occ      string // the occurrence's key, for Redis and the audit log
	mode     string // AUTO_REBOOT's mode for the server (rebootMode)
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
		return DecError
	case r.dry && r.decision != DecDeduped:
		return DecDryRun
	}
	return r.decision
}

// delivery is one webhook delivery being decided and reported.
type delivery struct {
	h       *Hooks
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
			r.decision, r.reason = DecDeduped, "already handled (same fingerprint and start time)"
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
			r.decision, r.reason = DecResolved, "resolved"
			if cfg.Delay > 0 {
				ok, err := store.CancelHold(ctx, holdKey(r.occ))
				if err != nil {
					r.err = err
					return
				}
				if ok {
					r.decision, r.reason = DecCancelled, "resolved during the hold; reboot cancelled"
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
		r.mode = h.rebootMode(r.server)
		r.dry = r.mode == ModeDryRun
		switch {
		case r.mode == ModeOff:
			r.decision, r.reason = DecIgnored, "AUTO_REBOOT is off"
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
		if r.err = h.fleet(ctx, r, len(servers)); r.err != nil || r.decision == DecBrake {
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
	h := dl.h
	api := h.s.API()
	byName := map[string][]*result{}
	var names []string
	for _, r := range dl.results {
		if r.err != nil || r.decision == DecDeduped {
			continue
		}
		if byName[r.alert.Server] == nil {
			names = append(names, r.alert.Server)
		}
		byName[r.alert.Server] = append(byName[r.alert.Server], r)
	}
	// One read per group named more than once, per server otherwise. An
	// alert whose mode is off touches nothing, reads included (its mode
	// asked by the name as written: it is not known by another yet).
	var ids map[string]bytemark.Identity
	var errs map[string]error
	var read []string
	for _, name := range names {
		if h.rebootMode(name) != ModeOff {
			read = append(read, name)
		}
	}
	if len(read) > 0 {
		ids, errs = api.IdentifyAll(ctx, read)
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
			if n, err := api.ResolveName(ctx, name); err == nil {
				server = n.String()
			}
		default:
			for _, r := range byName[name] {
				r.err = fmt.Errorf("bot: identifying server %s: %w", name, err)
			}
			continue
		}
		for _, r := range byName[name] {
			r.server, r.key = server, bot.ServerKey(id, server)
		}
	}
	if len(unknown) > 0 {
		dl.log.Warn("alerts for servers the API doesn't know by that name", "count", len(unknown), "servers", unknown[:min(len(unknown), 10)])
	}
}

// hold puts the alert's decision off until the hold ends: Run takes it
// then and decides it again (hold.go).
func (dl *delivery) hold(ctx context.Context, r *result, fleet int) error {
	cfg := dl.h.cfg
	p, err := json.Marshal(heldAlert{Source: dl.source, Occ: r.occ, Server: r.server, Key: r.key,
		Name: r.alert.Name, Summary: r.alert.Summary, Req: dl.reqID, Fleet: fleet})
	if err != nil {
		return err
	}
	if _, err := dl.h.s.Store.Hold(ctx, holdKey(r.occ), string(p), dl.now.Add(cfg.Delay)); err != nil {
		return err
	}
	r.decision = DecHeld
	r.reason = fmt.Sprintf("held for %s (REBOOT_DELAY); a resolve before then cancels the reboot", slackui.Roughly(cfg.Delay))
	return nil
}

// request is the core's request to reboot server for alert a, from source.
func (h *Hooks) request(source, reqID string, a commands.Alert, server string) bot.Request {
	act := a.Reboot(h.cfg.Method)
	act.Target = server
	return bot.Request{Action: act, User: source, Origin: source, RequestID: reqID, Reason: alertReason(source, a), Decided: true}
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

// rebootMode is where AUTO_REBOOT's mode is consulted: the mode (on,
// approve, dry-run or off) for an alert on server, by its canonical name
// once it is identified. Every decision asks it, and nothing else reads
// Config.Mode; a policy's `monitoring` pseudo-role can decide here later.
func (h *Hooks) rebootMode(server string) string {
	return h.cfg.Mode
}

// monitoringRule decides monitoring's reboot a of r.server when a policy
// rule names the monitoring pseudo-role (ruled): a refusal ends r, an
// approval sets r.card, and a reboot at once leaves r to the remaining
// guards. Without such a rule AUTO_REBOOT decides, as it always has.
func (h *Hooks) monitoringRule(ctx context.Context, r *result, a commands.Action) (ruled bool, err error) {
	p := h.s.Policy()
	if !p.MentionsMonitoring() {
		return false, nil
	}
	req := policy.Request{Action: a, Monitoring: true}
	if !policy.Canonical(r.server) {
		req.Action = commands.WithServer(a, "") // a server the API doesn't know: no server rule can match it
	}
	d, err := p.Decide(ctx, req, nil)
	if err != nil {
		return false, err
	}
	switch d.Outcome() {
	case "deny":
		r.decision, r.reason = DecRefused, d.Explanation
	case "approval":
		r.card, r.reason = true, d.Explanation
	}
	return true, nil
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
// once), allowlist and daily cap. It leaves r.decision empty when r may go
// on to the fleet brake, with r.card set when it would need an approval
// card (r.mode is approve, or a guard or APPROVAL_ACTIONS says so).
func (h *Hooks) guard(ctx context.Context, r *result, cool approvals.CooldownResult) error {
	cfg, store := h.cfg, h.s.Store
	if !cool.OK {
		r.decision = DecCooldown
		r.reason = fmt.Sprintf("cooldown: monitoring acted on it less than %s ago (REBOOT_COOLDOWN); %s left", slackui.Roughly(cfg.Cooldown), slackui.Roughly(cool.Remaining))
		return nil
	}
	// A policy rule naming the monitoring pseudo-role decides in place of
	// AUTO_REBOOT's mode and APPROVAL_ACTIONS (monitoringRule); the
	// guards around it still apply.
	ruled, err := h.monitoringRule(ctx, r, commands.Reboot{Target: r.server, Method: cfg.Method})
	if err != nil || (ruled && !r.goesOn()) || r.card {
		return err
	}
	if r.mode == ModeApprove && !ruled {
		r.card, r.reason = true, "AUTO_REBOOT is approve"
		return nil
	}
	if !cfg.allowed(r.server) {
		r.card, r.reason = true, "not in REBOOT_ALLOW, so not rebooted automatically"
		r.decision = DecNotAllowed
		return nil
	}
	ok, n, err := store.RateLimit(ctx, r.keyPrefix()+r.key, cfg.MaxPerDay, 24*time.Hour)
	if err != nil {
		return err
	}
	if !ok {
		r.card = true
		r.decision = DecCapped
		r.reason = fmt.Sprintf("already rebooted %d times in 24 hours (REBOOT_MAX_PER_DAY %d), so not rebooted automatically", n, cfg.MaxPerDay)
		return nil
	}
	if why := h.s.Config.Policy.Why(commands.Reboot{Target: r.server, Method: cfg.Method}); why != "" && !ruled {
		r.card, r.reason = true, "APPROVAL_ACTIONS includes "+why
	}
	return nil
}

// fleet applies the fleet brake to r; n is how many distinct servers the
// delivery brings at once.
func (h *Hooks) fleet(ctx context.Context, r *result, n int) error {
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
		r.decision = DecBrake
		r.reason = fmt.Sprintf("fleet brake: %s (more than REBOOT_FLEET_MAX %d) looks like a network or monitoring fault, so automatic reboots are paused", why, cfg.FleetMax)
	}
	return nil
}

// approvable settles a decision that would post an approval card when no
// one can approve: nothing is done.
func (h *Hooks) approvable(r *result) bool {
	if r.card && !h.s.CanAsk(commands.Reboot{Target: r.server, Method: h.cfg.Method}) {
		r.card = false
		r.decision = DecNoApprovers
		r.reason += "; it needs approval but no one may approve it (APPROVERS, or approvers in a policy rule for it), so nothing was done"
		return false
	}
	return true
}

// act commits what passed the guards: an approval card or a reboot, or in
// dry-run what would have been done.
func (dl *delivery) act(ctx context.Context, r *result) error {
	h := dl.h
	if !h.approvable(r) {
		return nil
	}
	if r.card {
		if r.decision == "" {
			r.decision = DecApproval
		}
		if r.dry {
			return nil
		}
		req := h.request(dl.source, dl.reqID, r.alert, r.server)
		req.ID, req.Ask = jobID("card", r.occ), true
		req.Reason += "; " + r.reason
		_, err := h.s.Submit(ctx, req)
		return err
	}
	r.decision = DecReboot
	r.reason = "rebooting (" + h.cfg.Method + ")"
	if r.dry {
		return nil
	}
	// Wait for the summary (its thread); if it never comes, run anyway.
	req := h.request(dl.source, dl.reqID, r.alert, r.server)
	req.ID = jobID("reboot", r.occ)
	var err error
	if r.job, err = h.s.Job(req); err != nil {
		return err
	}
	r.pending = "hooks:pending:" + r.occ
	_, err = h.s.Store.Schedule(ctx, r.pending, r.job, dl.now.Add(h.cfg.ReportGrace))
	return err
}
