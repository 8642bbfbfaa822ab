package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

// Reads run where they were asked (issue 20). A person's read (show,
// discs, …) needs no durable queue: it changes nothing, so if the process
// dies while running it the person asks again rather than the bot retrying
// it. It runs in the process that received it, after the acknowledgement,
// through the executor's own code (resolve, judge, run, answer through the
// response_url), without the queue's claim, lease and acknowledgement: two
// Redis round trips (StartHere, which also makes the same request
// delivered again run once; Finish, with the audit entry) where a queued
// job takes three.
//
// Config.ReadsHere of them run at once (default 16: a read mostly waits
// for the Bytemark API, Slack and Redis, and at 4 at once, the executor's
// default, they fell behind at 1,000 reads a second; see BENCHMARKS.md);
// up to readBacklog more wait their turn, in order. Past that a read is
// queued as before, for the workers of any process.

// defaultReadsHere is Config.ReadsHere's default.
const defaultReadsHere = 16

// readBacklog is how many reads may wait to run in this process.
const readBacklog = 1024

// readsHere returns the slots of the reads running here (nil: none run
// here) and of those admitted (running or waiting).
func (s *Server) readsHere() (running, admitted chan struct{}) {
	s.readsOnce.Do(func() {
		n := s.Config.ReadsHere
		if n == 0 {
			n = defaultReadsHere
		}
		if n > 0 {
			s.readSlots = make(chan struct{}, n)
			s.readAdmitted = make(chan struct{}, n+readBacklog)
		}
	})
	return s.readSlots, s.readAdmitted
}

// runsHere reports whether a, asked with decision d, is a read that can
// run in this process.
func runsHere(a commands.Action, d policy.Decision, in Invocation) bool {
	return in.Key != "" && commands.ReadOnly(a) && !commands.IsMany(a) && d.Approvals == 0 && !d.Varies
}

// readHere starts the read a in this process and returns its
// acknowledgement, or reports false when all the slots are taken (the
// caller queues it).
func (s *Server) readHere(ctx context.Context, log *slog.Logger, name string, a commands.Action, in Invocation) (string, string, Reply, bool) {
	running, admitted := s.readsHere()
	if admitted == nil {
		return "", "", Reply{}, false
	}
	select {
	case admitted <- struct{}{}:
	default:
		return "", "", Reply{}, false // the backlog is full: queue it
	}
	started := false
	defer func() {
		if !started {
			<-admitted
		}
	}()
	job, err := s.Job(Request{Action: a, User: in.User, Channel: in.Channel, Origin: in.Origin, RequestID: in.RequestID, Key: in.Key,
		ResponseURL: in.ResponseURL})
	if err != nil {
		log.Error("a read to run here", "action", a.String(), "err", err)
		return name, "unavailable", ephemeral(msgUnavailable), true
	}
	var first bool
	err = s.quick(ctx, func(ctx context.Context) (err error) {
		first, err = s.Store.StartHere(ctx, &job)
		return err
	})
	switch {
	case err != nil:
		log.Error("starting a read", "action", a.String(), "err", err)
		return name, "unavailable", ephemeral(msgUnavailable), true
	case !first:
		log.Warn("request delivered again; not run twice", "action", a.String(), "job", job.ID)
		return name, "duplicate", ephemeral(fmt.Sprintf(
			"%s is already being handled: this request reached the bot more than once, and it runs once.", commands.Code(a.String()))), true
	}
	started = true
	s.Go(func() {
		defer func() { <-admitted }()
		running <- struct{}{} // waits its turn
		defer func() { <-running }()
		s.executeHere(ctx, &job)
	})
	return name, "queued", Reply{Interim: true, Message: slackui.Text(fmt.Sprintf("Working on %s…", commands.Code(a.String())))}, true
}

// executeHere runs a job started with StartHere, as execute runs a
// claimed one, and records how it went.
func (s *Server) executeHere(ctx context.Context, job *approvals.Job) {
	log := s.Logger.With("job", job.ID, "req", jobMetaOf(job).Req, "command", job.Command, "here", true)
	jctx, cancel := s.haltable(background(ctx, s.Config.JobTimeout))
	defer cancel()
	ex := &execution{s: s, log: log, job: job}
	ex.resolve(jctx)
	ex.judge(jctx)
	start := time.Now()
	outcome, failed := ex.run(jctx)
	log.Info("job done", "outcome", outcome, "failed", failed, "took", time.Since(start).String())
	fctx, fcancel := background(ctx, 10*time.Second)
	defer fcancel()
	if err := s.Store.Finish(fctx, job, outcome, failed); err != nil {
		log.Error("finishing job", "err", err)
	}
}
