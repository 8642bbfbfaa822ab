package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

// How long the at-most-once markers of started actions are kept: far longer
// than any job can sit in the queue.
const onceTTL = 7 * 24 * time.Hour

// Run runs the executor until ctx is done: Config.Workers workers take jobs
// from the queue and run them, and a sweeper expires due tickets (updating
// their cards) and promotes delayed jobs. When ctx is done, workers finish
// the job they are running (within Config.JobTimeout, and within the time
// Shutdown allows) and hand back any job they hold but have not started;
// then Run returns nil.
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
			Sleep(ctx, time.Second)
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
			s.Go(func() {
				ctx, cancel := background(ctx, 2*time.Minute)
				defer cancel()
				s.updateCard(ctx, log, t.ID, "", false)
			})
		}
		if _, err := s.Store.PromoteDue(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Error("promoting delayed jobs", "err", err)
		}
		s.stagedDue(ctx) // staged.go
	}
}

// execute runs one claimed job and acknowledges it, or hands it back if
// the executor is shutting down before it started.
func (s *Server) execute(ctx context.Context, consumer string, job *approvals.Job) {
	log := s.Logger.With("job", job.ID, "req", jobMetaOf(job).Req, "command", job.Command,
		"ticket", job.TicketID, "attempt", job.Attempt, "retry", job.Retry)
	if ctx.Err() != nil {
		hctx, cancel := background(ctx, 5*time.Second)
		defer cancel()
		if err := s.Store.Release(hctx, job); err != nil {
			log.Error("handing back job", "err", err)
		}
		return
	}
	jctx, cancel := s.haltable(background(ctx, s.Config.JobTimeout))
	defer cancel()
	stop := s.heartbeat(jctx, log, job, consumer)
	ex := &execution{s: s, log: log, job: job}
	ex.resolve(jctx)
	ex.judge(jctx)
	if mayChange(job) && !ex.asks() {
		// From here on a reclaimed job comes back with Retry set.
		if err := s.Store.MarkRunning(jctx, job); err != nil {
			log.Warn("marking job running", "err", err)
		}
	}
	start := time.Now()
	outcome, failed := ex.run(jctx)
	interrupted := errors.Is(jctx.Err(), context.Canceled) // only Shutdown cancels it
	stop()
	fctx, fcancel := background(ctx, 10*time.Second)
	defer fcancel()
	if interrupted {
		// Shutdown ran out of time and interrupted the job: hand it back,
		// so that another process runs it again (as a retry, which checks
		// what the interrupted attempt did).
		log.Warn("job interrupted by shutdown; handed back", "outcome", outcome, "took", time.Since(start).String())
		if err := s.Store.Release(fctx, job); err != nil {
			log.Error("handing back job", "err", err)
		}
		return
	}
	log.Info("job done", "outcome", outcome, "failed", failed, "took", time.Since(start).String())
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
	// decision is the policy's, once the server is identified (judge);
	// nil for jobs the policy doesn't judge here. decErr: why it
	// couldn't be made.
	decision *policy.Decision
	decErr   error
	// fan is judge's plan for an action on many servers (fanout.go).
	fan *fanPlan
	// reads is true for a job whose answer is for the person who asked
	// only (privately); settled once their acknowledgement was replaced.
	reads, settled bool
}

// ref is what a person quotes to find this job in the logs.
func (e *execution) ref() string {
	if r := jobMetaOf(e.job).Req; r != "" {
		return r
	}
	return e.job.ID
}

// run runs the job and returns its outcome, and whether it failed.
func (e *execution) run(ctx context.Context) (outcome string, failed bool) {
	a, err := commands.Parse(e.job.Command)
	if err != nil {
		e.log.Error("job with an unparseable command", "err", err)
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Can't run %s: %s", commands.Code(e.job.Command), slackui.ErrorText(err, e.ref())))
		return "invalid", true
	}
	e.reads = e.privately(a)
	if m, ok := a.(commands.Many); ok {
		return e.runMany(ctx, m) // many servers, each on its own (fanout.go)
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
	if outcome, done := e.refuse(ctx, a); done {
		// Decided when the action is asked for and again when an
		// approved ticket runs (the protected servers among it): both
		// pass through here.
		e.s.metrics.executions.WithLabelValues(a.Name(), strings.TrimPrefix(outcome, "refused: ")).Inc()
		return outcome, true
	}
	switch {
	case e.job.Origin == approvals.OriginStaged:
		outcome, failed = e.runStaged(ctx, a) // staged.go
	case e.job.TicketID != "":
		outcome, failed = e.runTicket(ctx, a)
	case e.asks():
		// Whatever needs approval runs only with an approved ticket. So
		// does a job of a phase this version doesn't know (queued by an
		// older one): asking is the safe side.
		outcome, failed = e.ask(ctx, a, e.job.Channel, e.job.ThreadTS, jobMetaOf(e.job).Reason)
	default:
		outcome, failed = e.runPlain(ctx, a)
	}
	e.s.metrics.executions.WithLabelValues(a.Name(), outcome).Inc()
	return outcome, failed
}

// post posts msg, logging it in full if Slack can't take it.
func (e *execution) post(ctx context.Context, channel, thread, msg string) string {
	return e.postMessage(ctx, channel, thread, slackui.Text(msg))
}

func (e *execution) postMessage(ctx context.Context, channel, thread string, m slackui.Message) string {
	if channel == "" {
		channel = e.s.Config.Channel
	}
	ctx, cancel := e.s.reporting(ctx)
	defer cancel()
	if e.reads {
		e.answer(ctx, channel, m)
		return ""
	}
	ts, err := e.s.Poster.Post(ctx, channel, thread, m)
	if err != nil {
		if !e.unposted(ctx, m, err) {
			e.log.Error("posting result failed; the result was", "err", err, "channel", channel, "message", m.Text)
		}
		return ""
	}
	e.posted(ctx)
	return ts
}

// reporting returns the context for telling people how a job went: the
// job's own may have run out (that may be the very news), and the news must
// still get out, unless the process is out of time to stop (Shutdown).
func (s *Server) reporting(ctx context.Context) (context.Context, context.CancelFunc) {
	return s.haltable(background(ctx, 2*time.Minute))
}

// runTicket runs an approved ticket's action, after checking that the
// server is still what the approvers saw.
func (e *execution) runTicket(ctx context.Context, a commands.Action) (string, bool) {
	s := e.s
	t, err := s.Store.Get(ctx, e.job.TicketID)
	if err != nil {
		e.logErr("reading the ticket of a job", err)
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Not running %s: its approval can't be read (ref %s).", commands.Code(a.String()), e.ref()))
		return "failed", true
	}
	if t.State != approvals.StateApproved || t.Command != e.job.Command {
		e.log.Error("job for a ticket that is not approved", "state", t.State, "ticket_command", t.Command)
		rctx, cancel := e.s.reporting(ctx)
		defer cancel()
		e.s.reply(rctx, e.log, t, fmt.Sprintf(":x: Not running %s: the request is %s, not approved.", commands.Code(a.String()), t.State))
		return "refused", true
	}
	finish := func(outcome, note, thread string, failed bool) (string, bool) {
		rctx, cancel := e.s.reporting(ctx)
		defer cancel()
		e.s.reply(rctx, e.log, t, thread)
		e.s.updateCardWith(rctx, e.log, t.ID, news{Note: note, Outcome: cardOutcome(outcome, failed)}, true)
		return outcome, failed
	}
	if snap, ok := parseSnapshot(t.Snapshot); ok {
		// The server the approvers saw: its lock, and the ID the calls
		// that destroy name it by.
		if id, ok := identityOf(snap); ok {
			e.setID(id)
		}
	}
	if t.Purge.State != "" {
		// Staged by an earlier attempt that died (staged.go).
		return e.stage(ctx, a, t)
	}
	// The card says it is running only if it takes a while (running.go).
	defer e.runningLater(ctx, t.ID)()
	end := func(v *verdict) (string, bool) { return finish(v.outcome, v.note, v.msg, v.failed) }
	if c, ok := a.(commands.Create); ok {
		return e.runCreateTicket(ctx, c, t, end) // no server to compare yet (create.go)
	}
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
			fmt.Sprintf(":x: Not running %s: another action on %s is still running (ref %s).", commands.Code(a.String()), commands.Code(a.Server()), e.ref()), true)
	}
	defer unlock()
	srv, v := e.inspect(ctx, a)
	if v != nil {
		return end(v)
	}
	now, _ := takeSnapshot(a.Server(), srv, commands.DiscOf(a))
	if now.String() != t.Snapshot {
		was, _ := parseSnapshot(t.Snapshot)
		diff := was.diff(now)
		s.metrics.approvals.WithLabelValues("changed").Inc()
		outcome, failed := finish("changed", ":warning: Not run: the server changed after this was approved. A new request has been posted.",
			fmt.Sprintf(":warning: Not running %s: %s changed since the approvers saw it (%s). Asking again.", commands.Code(a.String()), commands.Code(a.Server()), diff), true)
		e.job.RequestedBy = t.RequestedBy
		e.ask(ctx, a, t.Channel, "", "asked again: the server changed after ticket "+t.ID+" was approved")
		return outcome, failed
	}
	if !claimed {
		if v := e.claim(ctx, a, "exec:"+t.ID); v != nil {
			return end(v)
		}
	}
	if s.stages(a, srv) {
		return e.stage(ctx, a, t) // staged.go
	}
	res, err := commands.Run(ctx, e.cloudFor(a), a)
	if err != nil {
		e.logErr("running approved action", err)
		return finish("failed", ":x: Failed: "+e.cloudErrorText(a, err), ":x: "+commands.Code(a.String())+" failed: "+e.cloudErrorText(a, err), true)
	}
	e.postResult(ctx, a, res, t.MessageChannel, t.MessageTS, t.RequestedBy, t.Approvers, t.ID) // undo.go
	e.private(ctx, t.Channel, t.RequestedBy, res)
	summary := res.Summary
	if summary == "" {
		summary = "Done."
	}
	rctx, cancel := e.s.reporting(ctx)
	defer cancel()
	s.updateCardWith(rctx, e.log, t.ID, news{Note: ":white_check_mark: " + summary, Outcome: slackui.OutcomeDone}, true)
	return "done", false
}

// cardOutcome is how a ticket's card shows a job that ended with outcome:
// done unless it failed; not run when it was refused before running.
func cardOutcome(outcome string, failed bool) slackui.Outcome {
	switch {
	case !failed:
		return slackui.OutcomeDone
	case outcome == "failed":
		return slackui.OutcomeFailed
	}
	return slackui.OutcomeRefused
}

// runPlain runs an action that needs no approval.
func (e *execution) runPlain(ctx context.Context, a commands.Action) (string, bool) {
	ch, thread := e.job.Channel, e.job.ThreadTS
	if !commands.ReadOnly(a) {
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
			e.post(ctx, ch, thread, fmt.Sprintf(":x: Not running %s: another action on %s is still running (ref %s).", commands.Code(a.String()), commands.Code(a.Server()), e.ref()))
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
		e.post(ctx, ch, thread, fmt.Sprintf(":x: %s failed (for %s): %s", commands.Code(a.String()), slackui.Mention(e.job.RequestedBy), e.cloudErrorText(a, err)))
		return "failed", true
	}
	user := e.job.RequestedBy
	if e.reads {
		user = "" // only they see it
	}
	e.postResult(ctx, a, res, ch, thread, user, nil, "") // undo.go
	e.private(ctx, ch, e.job.RequestedBy, res)
	if res.NoOp {
		return "nothing to do", false
	}
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
	rctx, cancel := e.s.reporting(ctx)
	defer cancel()
	// The command's response_url reaches the requester alone wherever
	// they asked; chat.postEphemeral only where the bot is.
	if e.s.respond(rctx, e.log, jobMetaOf(e.job), Response{Message: slackui.Text(res.Private)}) {
		return
	}
	if err := e.s.Poster.Ephemeral(rctx, channel, user, slackui.Text(res.Private)); err != nil {
		e.log.Error("delivering a private result (root password) failed; it is not kept", "err", err, "user", user)
		e.post(ctx, channel, "", fmt.Sprintf(":warning: I couldn't send %s the new root password privately, and it isn't kept anywhere: reset it from the server's console.", slackui.Mention(user)))
	}
}
