package monitor

// The end of a hold (REBOOT_DELAY). A held alert waits in Redis
// (approvals.Store.Hold, under its occurrence), where a resolve cancels it
// (CancelHold). When the hold ends, one replica's Run takes it
// (TakeDueHolds: once across replicas, with a lease, so a replica that dies
// while deciding leaves it to another), decides it again with the guards
// and the mode as they are then, and Submits what it decided to the core,
// in the thread of the delivery that held it. The executor knows nothing
// of holds: it runs a reboot, or asks for approval, like any other job.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
)

// heldAlert is what a hold keeps of its alert (the hold's payload): enough
// to decide it again and report it where it was reported.
type heldAlert struct {
	Source  string `json:"source"`
	Occ     string `json:"occ"`
	Server  string `json:"server"` // canonical name, as the delivery identified it
	Key     string `json:"key"`    // its guard key (bot.ServerKey)
	Name    string `json:"name,omitempty"`
	Summary string `json:"summary,omitempty"`
	Req     string `json:"req,omitempty"`
	Fleet   int    `json:"fleet,omitempty"` // distinct new servers in its delivery
}

// holdKey is the hold of the alert occurrence occ.
func holdKey(occ string) string { return "hooks:" + occ }

const (
	// holdLease is how long a replica has to decide a hold it took before
	// another may take it again.
	holdLease = 2 * time.Minute
	// holdBudget bounds deciding one hold, well inside its lease.
	holdBudget = 30 * time.Second
	// holdBatch is how many holds are taken at a time.
	holdBatch = 50
)

// Run decides the held alerts whose hold has ended, every HoldEvery, until
// ctx is done. main runs it on every replica, beside the executor: each
// hold is decided by one of them.
func (h *Hooks) Run(ctx context.Context) {
	t := time.NewTicker(h.cfg.HoldEvery)
	defer t.Stop()
	for {
		if _, err := h.ReleaseDue(ctx); err != nil && ctx.Err() == nil {
			h.s.Logger.Error("taking held alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ReleaseDue decides every held alert whose hold has ended, and returns
// how many it decided: Run's step, and the console's in place of Run.
func (h *Hooks) ReleaseDue(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		hs, err := h.s.Store.TakeDueHolds(ctx, holdLease, holdBatch)
		if err != nil {
			return n, err
		}
		for _, held := range hs {
			h.release(ctx, held)
			n++
		}
		if len(hs) < holdBatch {
			break
		}
	}
	return n, nil
}

// release decides one held alert whose hold has ended, and reports it.
func (h *Hooks) release(ctx context.Context, held approvals.Held) {
	// Once taken, a hold is decided to the end, even as the process stops.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), holdBudget)
	defer cancel()
	store := h.s.Store
	log := h.s.Logger.With("hold", held.Key, "attempt", held.Attempt)
	done := func() {
		if err := store.DoneHold(ctx, held.Key); err != nil {
			log.Error("forgetting a decided hold; it is taken again when its lease ends", "err", err)
		}
	}
	var a heldAlert
	if err := json.Unmarshal([]byte(held.Payload), &a); err != nil || a.Occ == "" || a.Server == "" {
		log.Error("dropping a hold that can't be read", "err", err)
		done()
		return
	}
	log = log.With("req", a.Req, "source", a.Source, "server", a.Server)
	// Decided once: a replica that died while deciding may have used the
	// guards and queued the reboot, so the next one doesn't decide again.
	first, err := store.Once(ctx, "hooks:held:"+a.Occ, h.cfg.DedupeTTL)
	if err != nil {
		log.Error("deciding a held alert; it is taken again when its lease ends", "err", err)
		return
	}
	defer done()
	thread := h.threadOf(ctx, a.Occ)
	alert := commands.Alert{Server: a.Server, Name: a.Name, Summary: a.Summary, Key: a.Occ}
	r := &result{alert: alert, server: a.Server, key: a.Key, occ: a.Occ}
	act := alert.Reboot(h.cfg.Method)
	if first {
		err = h.decideHeld(ctx, r, a)
	} else {
		r.decision = DecInterrupted
		r.reason = "deciding it after the hold was interrupted (the bot stopped), so it is not decided again"
	}
	if err == nil {
		err = h.submitHeld(ctx, r, a, thread)
	}
	if err != nil {
		log.Error("deciding a held alert", "err", err)
		h.count(a.Source, DecError)
		h.post(ctx, log, thread, fmt.Sprintf(":x: Not rebooting %s after the hold: the state store is unavailable (ref %s).", commands.Code(a.Server), a.Req))
		return
	}
	h.count(a.Source, r.decision)
	h.audit(ctx, log, approvals.Entry{Actor: a.Source, Action: act.String(), Server: a.Server, Outcome: r.decision,
		Detail: auditDetail(r.reason, a.Name, a.Occ)})
	switch r.decision {
	case DecReboot, DecApproval, DecNotAllowed, DecCapped, DecIgnored:
		// The job reports the reboot or posts the card; off says nothing.
	case DecInterrupted:
		h.post(ctx, log, thread, fmt.Sprintf(":warning: Not rebooting %s: %s. Check it, and reboot it by hand with `/bytemark reboot %s` if needed.",
			commands.Code(a.Server), r.reason, a.Server))
	default:
		h.post(ctx, log, thread, fmt.Sprintf(":octagonal_sign: Not rebooting %s after the hold: %s.", commands.Code(a.Server), r.reason))
	}
}

// decideHeld decides a held alert as its delivery would have without the
// hold: the mode, the guards and the fleet brake as they are now.
func (h *Hooks) decideHeld(ctx context.Context, r *result, a heldAlert) error {
	r.mode = h.rebootMode(r.server)
	switch r.mode {
	case ModeOff:
		r.decision, r.reason = DecIgnored, "AUTO_REBOOT is off"
		return nil
	case ModeDryRun:
		r.decision, r.reason = DecIgnored, "AUTO_REBOOT is dry-run now"
		return nil
	}
	var cool approvals.CooldownResult
	var err error
	cool.OK, cool.Remaining, err = h.s.Store.Cooldown(ctx, r.keyPrefix()+r.key, h.cfg.Cooldown)
	if err == nil {
		err = h.guard(ctx, r, cool)
	}
	if err == nil && r.goesOn() {
		err = h.fleet(ctx, r, a.Fleet)
	}
	switch {
	case err != nil || !r.goesOn():
	case !h.approvable(r):
	case r.card:
		r.decision = cmpOr(r.decision, DecApproval)
	default:
		r.decision, r.reason = DecReboot, "the hold is over and the alert didn't resolve: rebooting ("+h.cfg.Method+")"
	}
	return err
}

// submitHeld hands the core what was decided: the reboot, in the thread of
// the delivery that held it, or an approval card.
func (h *Hooks) submitHeld(ctx context.Context, r *result, a heldAlert, thread string) error {
	req := h.request(a.Source, a.Req, r.alert, r.server)
	switch {
	case r.card:
		req.ID, req.Ask = jobID("held-card", a.Occ), true
		req.Reason += "; " + r.reason
	case r.decision == DecReboot:
		req.ID, req.ThreadTS = jobID("held", a.Occ), thread
	default:
		return nil
	}
	_, err := h.s.Submit(ctx, req)
	return err
}

// post posts msg in thread of the channel, logging it if Slack can't take
// it.
func (h *Hooks) post(ctx context.Context, log *slog.Logger, thread, msg string) {
	if _, err := h.s.Poster.Post(ctx, h.s.Config.Channel, thread, slackui.Text(msg)); err != nil {
		log.Error("posting failed; the message was", "err", err, "message", msg)
	}
}
