package bot

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// How a run on many servers reports: one message, a line per server,
// updated as each server finishes, rather than a message per server. In a
// channel, twenty servers' messages would bury everything else and still
// not say how the whole went; one message keeps the list that was shown
// before anything ran, says at a glance which ones failed, and ends with
// the totals. Each server's result is its own line and its own audit
// entries, so nothing of "each reports on its own" is lost.

// A fanReport says where a run on many servers reports, and as whose.
type fanReport struct {
	channel, thread string
	// key prefixes the at-most-once markers of the servers' runs: the
	// job's ("exec:job:<id>") or the ticket's ("exec:<ticket>").
	key       string
	ticket    string
	requester string // "" is the job's requester
	approvers []string
}

// A fanResult is how one server's run ended.
type fanResult struct {
	outcome string // done, failed, skipped, interrupted
	text    string // the report's line, mrkdwn
	failed  bool
}

// fanRun runs m on every listed server, at the same time, each on its own,
// and reports them in one message that is updated as each one finishes.
func (e *execution) fanRun(ctx context.Context, m commands.Many, list fanList, r fanReport) (string, bool) {
	if r.requester == "" {
		r.requester = e.job.RequestedBy
	}
	results := make([]*fanResult, len(list.Servers))
	var mu sync.Mutex // orders the renders and their updates
	render := func(finished bool) slackui.Message { return fanMessage(m, list, r, results, finished) }
	rctx, cancel := e.s.reporting(ctx)
	defer cancel()
	ts, err := e.s.Poster.Post(rctx, r.channel, r.thread, render(false))
	if err != nil {
		e.logErr("posting the servers of a target", err)
		if r.ticket == "" {
			// The list is shown before anything runs, or nothing runs.
			return "failed", true
		}
	}
	update := func(msg slackui.Message) {
		if ts == "" {
			return
		}
		uctx, cancel := e.s.reporting(ctx)
		defer cancel()
		if err := e.s.Poster.Update(uctx, r.channel, ts, msg); err != nil {
			e.logErr("updating the report of a target", err)
		}
	}
	var wg sync.WaitGroup
	for i, srv := range list.Servers {
		wg.Go(func() {
			res := e.runOne(ctx, m.For(srv.Name), srv, r)
			mu.Lock()
			defer mu.Unlock()
			results[i] = &res
			if reported(results) < len(results) { // the last one's is the final update
				update(render(false))
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	msg := render(true)
	if ts == "" {
		e.postMessage(ctx, r.channel, r.thread, msg) // the report couldn't be posted at first: try again
	} else {
		update(msg)
	}
	done, failed := 0, 0
	for _, res := range results {
		if res.outcome == "done" {
			done++
		}
		if res.failed {
			failed++
		}
	}
	switch {
	case failed == 0:
		return "done", false
	case done == 0:
		return "failed", true
	}
	return fmt.Sprintf("partly done: %d of %d servers failed", failed, len(results)), true
}

// reported counts the results in so far.
func reported(results []*fanResult) int {
	n := 0
	for _, r := range results {
		if r != nil {
			n++
		}
	}
	return n
}

// fanMessage renders the report of a run on many servers.
func fanMessage(m commands.Many, list fanList, r fanReport, results []*fanResult, finished bool) slackui.Message {
	counts := map[string]int{}
	var lines []string
	for i, srv := range list.Servers {
		res := results[i]
		if res == nil {
			counts["running"]++
			lines = append(lines, fmt.Sprintf(":hourglass_flowing_sand: %s: running…", commands.Code(srv.Name)))
			continue
		}
		counts[res.outcome]++
		lines = append(lines, fanEmoji(res)+" "+commands.Code(srv.Name)+": "+res.text)
	}
	for _, sk := range list.Skipped {
		lines = append(lines, fmt.Sprintf(":fast_forward: %s: skipped (%s)", commands.Code(sk.Name), commands.Escape(sk.Why)))
	}
	who := "for " + slackui.Mention(r.requester)
	if len(r.approvers) > 0 {
		who += ", approved by " + slackui.Mentions(r.approvers)
	}
	n := len(list.Servers)
	var tally []string
	for _, k := range []string{"done", "failed", "skipped", "interrupted", "running"} {
		if counts[k] > 0 {
			tally = append(tally, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	head := fmt.Sprintf(":gear: %s (%s) on %s in %s: %s.", commands.Code(m.String()), who, slackui.Plural(n, "server"), commands.Code(list.Group), strings.Join(tally, ", "))
	if finished {
		switch {
		case counts["done"] == n:
			head = fmt.Sprintf(":white_check_mark: %s (%s): done on %s in %s.", commands.Code(m.String()), who, allOf(n), commands.Code(list.Group))
		default:
			head = fmt.Sprintf(":warning: %s (%s) on %s in %s: %s.", commands.Code(m.String()), who, slackui.Plural(n, "server"), commands.Code(list.Group), strings.Join(tally, ", "))
		}
	}
	return slackui.Lines(head, lines)
}

func allOf(n int) string {
	if n == 1 {
		return "its 1 server"
	}
	return fmt.Sprintf("all %d servers", n)
}

func fanEmoji(r *fanResult) string {
	switch r.outcome {
	case "done":
		return ":white_check_mark:"
	case "skipped":
		return ":fast_forward:"
	case "interrupted":
		return ":warning:"
	}
	return ":x:"
}

// runOne runs a, the action on one listed server, on its own: under the
// server's lock and its own at-most-once marker, on the server it was
// listed as (by ID), and audited.
func (e *execution) runOne(ctx context.Context, a commands.Action, srv fanServer, r fanReport) fanResult {
	job := *e.job // this server's view of the job: its name and ID
	job.Server = srv.Name
	job.Meta = maps.Clone(e.job.Meta)
	if job.Meta == nil {
		job.Meta = map[string]string{}
	}
	job.Meta[approvals.MetaServerID] = strconv.Itoa(srv.ID)
	n, err := bytemark.ParseName(srv.Name)
	sub := &execution{s: e.s, log: e.log.With("server", srv.Name, "server_id", srv.ID), job: &job,
		id: bytemark.Identity{ID: srv.ID, Name: n.Short(), Hostname: srv.Hostname}}
	if err != nil {
		sub.id = bytemark.Identity{}
	}
	res := sub.runListed(ctx, a, srv, r)
	e.s.metrics.executions.WithLabelValues(a.Name(), res.outcome).Inc()
	detail := ""
	if len(r.approvers) > 0 {
		detail = "approved by " + strings.Join(r.approvers, ", ") + "; "
	}
	detail += "one of the servers of " + e.job.Command
	if res.outcome != "done" {
		detail += "; " + slackui.Truncate(res.text, 300)
	}
	e.audit(ctx, approvals.Entry{Actor: r.requester, Action: a.String(), Server: srv.Name, Ticket: r.ticket,
		Outcome: res.outcome, Detail: e.fanDetail(srv, detail)})
	return res
}

// runListed is runOne's run, as the execution of one server's part.
func (e *execution) runListed(ctx context.Context, a commands.Action, srv fanServer, r fanReport) fanResult {
	key := r.key + ":" + strconv.Itoa(srv.ID)
	interrupted := func(v *verdict) fanResult {
		return fanResult{outcome: v.outcome, text: strings.TrimPrefix(strings.TrimPrefix(v.msg, ":warning: "), ":x: "), failed: true}
	}
	claimed := false
	if e.job.Retry {
		// As in runPlain: an earlier attempt may hold the lock; the
		// marker says whether it started this server's action.
		if v := e.claim(ctx, a, key); v != nil {
			return interrupted(v)
		}
		claimed = true
	}
	unlock, err := e.lockServer(ctx, a)
	if err != nil {
		e.logErr("locking the server", err)
		return fanResult{outcome: "failed", text: fmt.Sprintf("not run: another action on it is still running (ref %s).", e.ref()), failed: true}
	}
	defer unlock()
	now, err := e.s.api.GetServer(ctx, srv.Name)
	switch {
	case bytemark.IsNotFound(err):
		return fanResult{outcome: "skipped", text: "skipped: it no longer exists."}
	case err != nil:
		e.logErr("reading the server before running", err)
		return fanResult{outcome: "failed", text: "not run: " + e.cloudErrorText(a, err), failed: true}
	case now.ID != srv.ID:
		return fanResult{outcome: "skipped", text: fmt.Sprintf("skipped: that name is another server now (id %d; it was listed as %d).", now.ID, srv.ID)}
	case now.Deleted:
		return fanResult{outcome: "skipped", text: "skipped: deleted since it was listed."}
	}
	if !claimed {
		if v := e.claim(ctx, a, key); v != nil {
			return interrupted(v)
		}
	}
	e.audit(ctx, approvals.Entry{Actor: r.requester, Action: a.String(), Server: srv.Name, Ticket: r.ticket,
		Outcome: "started", Detail: e.fanDetail(srv, "")})
	res, err := commands.Run(ctx, e.cloudFor(a), a)
	if err != nil {
		e.logErr("running action", err)
		return fanResult{outcome: "failed", text: "failed: " + e.cloudErrorText(a, err), failed: true}
	}
	summary := res.Summary
	if summary == "" {
		summary = "done."
	}
	return fanResult{outcome: "done", text: summary}
}

// audit appends one entry to the audit log, even when the job's own time
// has run out.
func (e *execution) audit(ctx context.Context, en approvals.Entry) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := e.s.Store.Audit(actx, en); err != nil {
		e.logErr("auditing a server's run", err, "server", en.Server, "outcome", en.Outcome)
	}
}
