package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// How long the at-most-once markers of started actions are kept: far longer
// than any job can sit in the queue.
const onceTTL = 7 * 24 * time.Hour

// Run runs the executor until ctx is done: Config.Workers workers take jobs
// from the queue and run them, and a sweeper expires due tickets (updating
// their cards) and promotes delayed jobs. When ctx is done, workers finish
// the job they are running (within Config.JobTimeout) and hand back any job
// they hold but have not started; then Run returns nil.
func (s *Server) Run(ctx context.Context) error {
	if !s.begin() {
		return nil
	}
	defer s.wg.Done()
	host, _ := os.Hostname()
	var wg sync.WaitGroup
	var consumers []string
	for i := range s.Config.Workers {
		consumer := fmt.Sprintf("%s-%s-%d", host, s.instance, i)
		consumers = append(consumers, consumer)
		wg.Go(func() { s.work(ctx, consumer) })
	}
	wg.Go(func() { s.sweep(ctx) })
	wg.Wait()
	// Each run has consumers of its own; leave the queue's consumer group
	// as found, or it grows with every restart.
	rctx, cancel := background(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.Store.Retire(rctx, consumers...); err != nil {
		s.Logger.Warn("removing this process's queue consumers", "err", err)
	}
	return nil
}

// work is one worker's loop.
func (s *Server) work(ctx context.Context, consumer string) {
	log := s.Logger.With("consumer", consumer)
	for ctx.Err() == nil {
		job, err := s.Store.Claim(ctx, consumer, s.claimBlock)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("claiming a job", "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		if job != nil {
			s.execute(ctx, consumer, job)
		}
	}
}

// sweep expires due tickets and promotes due delayed jobs until ctx is done.
func (s *Server) sweep(ctx context.Context) {
	tick := time.NewTicker(s.Config.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		expired, err := s.Store.ExpireDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("expiring tickets", "err", err)
		}
		for _, t := range expired {
			s.metrics.approvals.WithLabelValues("expired").Inc()
			log := s.Logger.With("ticket", t.ID)
			log.Info("ticket expired", "command", t.Command)
			s.goAsync(func() {
				ctx, cancel := background(ctx, 2*time.Minute)
				defer cancel()
				s.updateCard(ctx, log, t.ID, "", false)
			})
		}
		if _, err := s.Store.PromoteDue(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Error("promoting delayed jobs", "err", err)
		}
	}
}

// execute runs one claimed job and acknowledges it, or hands it back if
// the executor is shutting down before it started.
func (s *Server) execute(ctx context.Context, consumer string, job *approvals.Job) {
	log := s.Logger.With("job", job.ID, "req", job.Meta[metaReq], "command", job.Command,
		"ticket", job.TicketID, "attempt", job.Attempt, "retry", job.Retry)
	if ctx.Err() != nil {
		hctx, cancel := background(ctx, 5*time.Second)
		defer cancel()
		if err := s.Store.Release(hctx, job); err != nil {
			log.Error("handing back job", "err", err)
		}
		return
	}
	jctx, cancel := background(ctx, s.Config.JobTimeout)
	defer cancel()
	stop := s.heartbeat(jctx, log, job, consumer)
	ex := &execution{s: s, log: log, job: job}
	ex.resolve(jctx)
	if mayChange(job) {
		// From here on a reclaimed job comes back with Retry set.
		if err := s.Store.MarkRunning(jctx, job); err != nil {
			log.Warn("marking job running", "err", err)
		}
	}
	start := time.Now()
	outcome, failed := ex.run(jctx)
	stop()
	log.Info("job done", "outcome", outcome, "failed", failed, "took", time.Since(start).String())
	fctx, fcancel := background(ctx, 10*time.Second)
	defer fcancel()
	if err := s.Store.Finish(fctx, job, outcome, failed); err != nil {
		log.Error("finishing job", "err", err)
	}
}

// heartbeat extends job's lease until the returned function is called.
func (s *Server) heartbeat(ctx context.Context, log *slog.Logger, job *approvals.Job, consumer string) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.Config.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.Store.Heartbeat(ctx, job, consumer); err != nil {
					log.Warn("extending job lease", "err", err)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// An execution is one job being run.
type execution struct {
	s   *Server
	log *slog.Logger
	job *approvals.Job
	// id is the job's server, resolved once (resolve) or, for an approved
	// ticket, as the approvers saw it; zero when unknown.
	id    bytemark.Identity
	idErr error // why the server couldn't be identified
}

// ref is what a person quotes to find this job in the logs.
func (e *execution) ref() string {
	if r := e.job.Meta[metaReq]; r != "" {
		return r
	}
	return e.job.ID
}

// run runs the job and returns its outcome, and whether it failed.
func (e *execution) run(ctx context.Context) (outcome string, failed bool) {
	a, err := commands.Parse(e.job.Command)
	if err != nil {
		e.log.Error("job with an unparseable command", "err", err)
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Can't run %s: %s", code(e.job.Command), errorText(err, e.ref())))
		return "invalid", true
	}
	if e.idErr != nil {
		outcome, failed = e.refuseUnidentified(ctx, a)
		e.s.metrics.executions.WithLabelValues(a.Name(), outcome).Inc()
		return outcome, failed
	}
	if e.id.ID > 0 {
		// Shown, asked and audited by its canonical name.
		a = commands.WithServer(a, e.id.Name.String())
	}
	switch {
	case e.job.TicketID != "":
		outcome, failed = e.runTicket(ctx, a)
	case e.job.Meta[metaPhase] == phaseHeld:
		// A reboot held by REBOOT_DELAY (hooks.go) decides again now.
		outcome, failed = e.runHeld(ctx, a)
	case e.job.Meta[metaPhase] == phaseAsk || e.s.Config.Policy.NeedsApproval(a):
		// Whatever needs approval runs only with an approved ticket.
		outcome, failed = e.ask(ctx, a, e.job.Channel, e.job.ThreadTS, e.job.Meta[metaReason])
	default:
		outcome, failed = e.runPlain(ctx, a)
	}
	e.s.metrics.executions.WithLabelValues(a.Name(), outcome).Inc()
	return outcome, failed
}

// post posts msg, logging it in full if Slack can't take it.
func (e *execution) post(ctx context.Context, channel, thread, msg string) string {
	return e.postMessage(ctx, channel, thread, text(msg))
}

func (e *execution) postMessage(ctx context.Context, channel, thread string, m Message) string {
	if channel == "" {
		channel = e.s.Config.Channel
	}
	ctx, cancel := reporting(ctx)
	defer cancel()
	ts, err := e.s.poster.Post(ctx, channel, thread, m)
	if err != nil {
		e.log.Error("posting result failed; the result was", "err", err, "channel", channel, "message", m.Text)
	}
	return ts
}

// reporting returns the context for telling people how a job went: the
// job's own may have run out (that may be the very news), and the news must
// still get out.
func reporting(ctx context.Context) (context.Context, context.CancelFunc) {
	return background(ctx, 2*time.Minute)
}

// ask reads the server, opens an approval ticket with what the approvers
// will see and posts its card.
func (e *execution) ask(ctx context.Context, a commands.Action, channel, thread, reason string) (string, bool) {
	s := e.s
	srv, err := s.cloud.GetServer(ctx, a.Server())
	if err != nil {
		e.logErr("reading server for approval card", err)
		e.post(ctx, channel, thread, fmt.Sprintf(":x: %s asked for %s: %s", mention(e.job.RequestedBy), code(a.String()), e.cloudErrorText(a, err)))
		return "failed", true
	}
	snap, err := takeSnapshot(a.Server(), srv, discOf(a))
	if err != nil {
		e.post(ctx, channel, thread, fmt.Sprintf(":x: %s asked for %s, but %s has no disc %s.", mention(e.job.RequestedBy), code(a.String()), code(a.Server()), code(discOf(a))))
		return "failed", true
	}
	power := "off"
	if srv.PowerOn {
		power = "on"
	}
	meta := map[string]string{metaPower: power, metaReq: e.job.Meta[metaReq]}
	if reason != "" {
		meta[metaReason] = reason
	}
	t, err := s.Store.Submit(ctx, approvals.Request{
		Command:     a.String(),
		RequestedBy: e.job.RequestedBy,
		Channel:     channel,
		Snapshot:    snap.String(),
		Server:      a.Server(),
		Required:    s.Config.ApprovalsRequired,
		TTL:         s.Config.ApprovalTTL,
		Meta:        meta,
	})
	if err != nil {
		e.logErr("opening ticket", err)
		e.post(ctx, channel, thread, fmt.Sprintf(":x: Couldn't open an approval request for %s (ref %s). Try again.", code(a.String()), e.ref()))
		return "failed", true
	}
	ts, err := s.poster.Post(ctx, channel, thread, card(t, s.Now(), ""))
	if err != nil {
		e.logErr("posting approval card; cancelling the ticket", err, "ticket", t.ID)
		if _, err := s.Store.Cancel(ctx, t.ID, t.RequestedBy); err != nil {
			e.logErr("cancelling ticket without a card", err, "ticket", t.ID)
		}
		return "failed", true
	}
	if err := s.Store.SetMessage(ctx, t.ID, channel, ts); err != nil {
		e.logErr("recording the card of a ticket", err, "ticket", t.ID)
	}
	s.metrics.approvals.WithLabelValues("requested").Inc()
	return "asked", false
}

// runTicket runs an approved ticket's action, after checking that the
// server is still what the approvers saw.
func (e *execution) runTicket(ctx context.Context, a commands.Action) (string, bool) {
	s := e.s
	t, err := s.Store.Get(ctx, e.job.TicketID)
	if err != nil {
		e.logErr("reading the ticket of a job", err)
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Not running %s: its approval can't be read (ref %s).", code(a.String()), e.ref()))
		return "failed", true
	}
	if t.State != approvals.StateApproved || t.Command != e.job.Command {
		e.log.Error("job for a ticket that is not approved", "state", t.State, "ticket_command", t.Command)
		rctx, cancel := reporting(ctx)
		defer cancel()
		e.s.reply(rctx, e.log, t, fmt.Sprintf(":x: Not running %s: the request is %s, not approved.", code(a.String()), t.State))
		return "refused", true
	}
	finish := func(outcome, note, thread string, failed bool) (string, bool) {
		rctx, cancel := reporting(ctx)
		defer cancel()
		e.s.reply(rctx, e.log, t, thread)
		e.s.updateCard(rctx, e.log, t.ID, note, true)
		return outcome, failed
	}
	if snap, ok := parseSnapshot(t.Snapshot); ok {
		// The server the approvers saw: its lock, and the ID the calls
		// that destroy name it by.
		if id, ok := identityOf(snap); ok {
			e.setID(id)
		}
	}
	e.s.updateCard(ctx, e.log, t.ID, ":gear: Running…", true)
	end := func(v *verdict) (string, bool) { return finish(v.outcome, v.note, v.msg, v.failed) }
	claimed := false
	if e.job.Retry {
		// The worker that ran this before died (its lease ran out), and may
		// hold the server's lock until the lock's TTL ends. What it did
		// shows in the server's state, which needs no lock to read.
		if _, v := e.inspect(ctx, a); v != nil {
			return end(v)
		}
		if v := e.claim(ctx, a, "exec:"+t.ID); v != nil {
			return end(v)
		}
		claimed = true
	}
	unlock, err := e.lockServer(ctx, a)
	if err != nil {
		e.logErr("locking the server", err)
		return finish("failed", ":x: Not run: another action on this server took too long.",
			fmt.Sprintf(":x: Not running %s: another action on %s is still running (ref %s).", code(a.String()), code(a.Server()), e.ref()), true)
	}
	defer unlock()
	srv, v := e.inspect(ctx, a)
	if v != nil {
		return end(v)
	}
	now, _ := takeSnapshot(a.Server(), srv, discOf(a))
	if now.String() != t.Snapshot {
		was, _ := parseSnapshot(t.Snapshot)
		diff := was.diff(now)
		s.metrics.approvals.WithLabelValues("changed").Inc()
		outcome, failed := finish("changed", ":warning: Not run: the server changed after this was approved. A new request has been posted.",
			fmt.Sprintf(":warning: Not running %s: %s changed since the approvers saw it (%s). Asking again.", code(a.String()), code(a.Server()), diff), true)
		e.job.RequestedBy = t.RequestedBy
		e.ask(ctx, a, t.Channel, "", "asked again: the server changed after ticket "+t.ID+" was approved")
		return outcome, failed
	}
	if !claimed {
		if v := e.claim(ctx, a, "exec:"+t.ID); v != nil {
			return end(v)
		}
	}
	res, err := commands.Run(ctx, e.cloudFor(a), a)
	if err != nil {
		e.logErr("running approved action", err)
		return finish("failed", ":x: Failed: "+e.cloudErrorText(a, err), ":x: "+code(a.String())+" failed: "+e.cloudErrorText(a, err), true)
	}
	e.postMessage(ctx, t.MessageChannel, t.MessageTS, resultMessage(a, res, t.RequestedBy, t.Approvers))
	e.private(ctx, t.Channel, t.RequestedBy, res)
	summary := res.Summary
	if summary == "" {
		summary = "Done."
	}
	rctx, cancel := reporting(ctx)
	defer cancel()
	s.updateCard(rctx, e.log, t.ID, ":white_check_mark: "+summary, true)
	return "done", false
}

// A verdict is how a job ends when it ends before running its action.
type verdict struct {
	outcome string // for the queue's record and the audit log
	note    string // for the approval card
	msg     string // for the channel
	failed  bool
}

// inspect reads a's server and says whether the job must end without
// running: the server or disc is gone (already purged, on a retry), or, on a
// retry, already as a would leave it. It also ends the job when the server
// can't be read.
func (e *execution) inspect(ctx context.Context, a commands.Action) (*bytemark.Server, *verdict) {
	srv, err := e.s.cloud.GetServer(ctx, a.Server())
	switch {
	case bytemark.IsNotFound(err) && isServerPurge(a):
		if e.job.Retry {
			return nil, &verdict{"already done", ":white_check_mark: Already purged.",
				fmt.Sprintf(":white_check_mark: %s is already purged; nothing more to do.", code(a.Server())), false}
		}
		return nil, &verdict{"gone", ":grey_question: Not run: the server no longer exists.",
			fmt.Sprintf(":grey_question: %s no longer exists, so there is nothing to purge.", code(a.Server())), true}
	case err != nil:
		e.logErr("reading the server before running", err)
		return nil, &verdict{"failed", ":x: Not run: the server couldn't be read.",
			fmt.Sprintf(":x: Not running %s: %s", code(a.String()), e.cloudErrorText(a, err)), true}
	}
	if done, msg := alreadyDone(a, srv); done && e.job.Retry {
		return nil, &verdict{"already done", ":white_check_mark: " + msg, ":white_check_mark: " + msg + " Nothing more to do.", false}
	}
	if _, err := takeSnapshot(a.Server(), srv, discOf(a)); errors.Is(err, errNoDisc) {
		if e.job.Retry {
			return nil, &verdict{"already done", ":white_check_mark: Disc already purged.",
				fmt.Sprintf(":white_check_mark: %s no longer has disc %s; nothing more to do.", code(a.Server()), code(discOf(a))), false}
		}
		return nil, &verdict{"gone", ":grey_question: Not run: the disc no longer exists.",
			fmt.Sprintf(":grey_question: %s no longer has disc %s, so there is nothing to purge.", code(a.Server()), code(discOf(a))), true}
	}
	return srv, nil
}

// claim records, once and for all, that a's run under key is starting. It
// ends the job if an earlier attempt already started it: that attempt was
// interrupted, and an action is never sent twice.
func (e *execution) claim(ctx context.Context, a commands.Action, key string) *verdict {
	ok, err := e.s.Store.Once(ctx, key, onceTTL)
	if err != nil {
		e.logErr("marking the action as started", err)
		return &verdict{"failed", ":x: Not run: the bot couldn't record that it was starting.",
			fmt.Sprintf(":x: Not running %s (ref %s). Try again.", code(a.String()), e.ref()), true}
	}
	if !ok {
		return &verdict{"interrupted", ":warning: An earlier attempt was interrupted; not repeated.",
			fmt.Sprintf(":warning: An earlier attempt to run %s was interrupted. It is not repeated automatically: check %s and ask again if needed.", code(a.String()), code(a.Server())), true}
	}
	return nil
}

// runPlain runs an action that needs no approval.
func (e *execution) runPlain(ctx context.Context, a commands.Action) (string, bool) {
	ch, thread := e.job.Channel, e.job.ThreadTS
	if !readOnly(a) {
		key := "exec:job:" + e.job.ID
		stop := func(v *verdict) (string, bool) {
			e.post(ctx, ch, thread, v.msg)
			return v.outcome, v.failed
		}
		if e.job.Retry {
			// As in runTicket: decide from the server's state, without the
			// lock that the dead worker may still hold.
			if _, v := e.inspect(ctx, a); v != nil {
				return stop(v)
			}
			if v := e.claim(ctx, a, key); v != nil {
				return stop(v)
			}
		}
		unlock, err := e.lockServer(ctx, a)
		if err != nil {
			e.logErr("locking the server", err)
			e.post(ctx, ch, thread, fmt.Sprintf(":x: Not running %s: another action on %s is still running (ref %s).", code(a.String()), code(a.Server()), e.ref()))
			return "failed", true
		}
		defer unlock()
		if !e.job.Retry {
			if v := e.claim(ctx, a, key); v != nil {
				return stop(v)
			}
		}
	}
	res, err := commands.Run(ctx, e.cloudFor(a), a)
	if err != nil {
		e.logErr("running action", err)
		e.post(ctx, ch, thread, fmt.Sprintf(":x: %s failed (for %s): %s", code(a.String()), mention(e.job.RequestedBy), e.cloudErrorText(a, err)))
		return "failed", true
	}
	e.postMessage(ctx, ch, thread, resultMessage(a, res, e.job.RequestedBy, nil))
	e.private(ctx, ch, e.job.RequestedBy, res)
	return "done", false
}

// private gives the requester a result's Private text (a new root
// password) as an ephemeral message in channel, and nowhere else: not the
// channel, the log or Redis. If Slack won't take it, the channel is told
// only that it wasn't delivered.
func (e *execution) private(ctx context.Context, channel, user string, res commands.Result) {
	if res.Private == "" {
		return
	}
	if channel == "" {
		channel = e.s.Config.Channel
	}
	rctx, cancel := reporting(ctx)
	defer cancel()
	if err := e.s.poster.Ephemeral(rctx, channel, user, text(res.Private)); err != nil {
		e.log.Error("delivering a private result (root password) failed; it is not kept", "err", err, "user", user)
		e.post(ctx, channel, "", fmt.Sprintf(":warning: I couldn't send %s the new root password privately, and it isn't kept anywhere: reset it from the server's console.", mention(user)))
	}
}

// cloudErrorText explains err from running a, for people.
func (e *execution) cloudErrorText(a commands.Action, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("it took too long (ref %s).", e.ref())
	}
	if bytemark.IsNotFound(err) && a.Server() != "" {
		return fmt.Sprintf("I can't find server %s.", code(a.Server()))
	}
	return errorText(err, e.ref())
}

func (e *execution) logErr(msg string, err error, args ...any) {
	e.log.Error(msg, append([]any{"err", err}, args...)...)
}

// lockServer makes sure no other action runs on a's server, in this
// process or any other, until the returned function is called. It waits
// while another holds the lock, until ctx is done.
func (e *execution) lockServer(ctx context.Context, a commands.Action) (func(), error) {
	name := a.Server()
	if n, err := e.s.cloud.ResolveName(ctx, name); err == nil {
		name = n.String()
	}
	// Keyed on the server's ID: every alias of it takes the same lock.
	key := serverKey(e.id, name)
	unlock := e.s.locks.lock(key)
	// The action's own time limit bounds how long the lock is needed; the
	// minute covers the reads before it starts. A holder that dies keeps
	// the server locked no longer than that for other jobs; its own job,
	// retried, re-enters the lock at once (a job's lease lets only one
	// live worker hold it at a time).
	release, err := e.s.redisLock(ctx, "server:"+key, "job:"+e.job.ID, commands.Timeout(a)+time.Minute)
	if err != nil {
		unlock()
		return nil, err
	}
	return func() {
		release()
		unlock()
	}, nil
}

// mayChange reports whether job may change a server when it runs: it is not
// a read, nor the preparation of an approval card.
func mayChange(job *approvals.Job) bool {
	if job.TicketID != "" {
		return true
	}
	if job.Meta[metaPhase] == phaseAsk {
		return false
	}
	a, err := commands.Parse(job.Command)
	return err == nil && !readOnly(a)
}

// readOnly reports whether a only reads.
func readOnly(a commands.Action) bool {
	switch a.Name() {
	case "list", "show", "discs", "help", "approvals", "audit", "images":
		return true
	}
	return false
}

// discOf returns the disc a acts on alone, or "".
func discOf(a commands.Action) string {
	if d, ok := a.(commands.DiscPurge); ok {
		return d.Label
	}
	return ""
}

func isServerPurge(a commands.Action) bool {
	_, ok := a.(commands.Purge)
	return ok
}

// alreadyDone reports whether srv shows that a has already happened (a
// destructive action whose earlier attempt was interrupted).
func alreadyDone(a commands.Action, srv *bytemark.Server) (bool, string) {
	switch a.(type) {
	case commands.Delete:
		if srv.Deleted {
			return true, fmt.Sprintf("%s is already deleted.", code(a.Server()))
		}
	case commands.Undelete:
		if !srv.Deleted {
			return true, fmt.Sprintf("%s is already undeleted.", code(a.Server()))
		}
	}
	return false, ""
}
