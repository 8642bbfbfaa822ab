package bot

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// An Invocation is a command typed by a person, from any transport.
type Invocation struct {
	User, Channel, Text string
	// ResponseURL is Slack's response_url, when there is one.
	ResponseURL string
	// RequestID ties the log lines of one request together; Command makes
	// one up when it is empty.
	RequestID string
	// Origin names the transport for the audit log and metrics ("slack"
	// when empty; "console").
	Origin string
	// Key identifies the request itself (a Slack request's trigger_id):
	// the same request delivered again, by a retry or a replay, has the
	// same Key and queues nothing again. Empty: no such check.
	Key string
}

// A Reply is the immediate answer to a command: ephemeral (only the person
// who typed it sees it) unless InChannel.
type Reply struct {
	slackui.Message
	InChannel bool
	// Interim marks an acknowledgement that the answer will replace,
	// through the command's response_url (Poster.Respond with Replace).
	Interim bool
}

func ephemeral(s string) Reply { return Reply{Message: slackui.Text(s)} }

// Messages people see when the bot cannot do what they asked.
const (
	msgUnavailable = "The bot is temporarily unavailable; try again in a moment."
	msgNotAllowed  = "Sorry, you aren't allowed to use this command."
	msgNotHere     = "Sorry, this command isn't enabled in this channel."
)

// Command handles a command: it authorizes the user and channel, parses the
// text, answers quick things (help, usage errors, approvals, audit, cancel)
// in its Reply and queues everything that calls the Bytemark API, whose
// result is posted to the channel later. It returns quickly whatever the
// Bytemark API is doing; ctx should carry the caller's deadline.
func (s *Server) Command(ctx context.Context, in Invocation) Reply {
	if in.RequestID == "" {
		in.RequestID = newID(4)
	}
	if in.Origin == "" {
		in.Origin = "slack"
	}
	log := s.Logger.With("req", in.RequestID, "user", in.User, "channel", in.Channel)
	name, outcome, reply := s.command(ctx, log, in)
	s.metrics.commands.WithLabelValues(name, outcome).Inc()
	log.Info("command", "command", name, "outcome", outcome)
	return reply
}

func (s *Server) command(ctx context.Context, log *slog.Logger, in Invocation) (name, outcome string, reply Reply) {
	a, err := commands.Parse(in.Text)
	if err != nil {
		// Who may not even ask for help here is refused, not taught.
		if _, outcome, reply, refused := s.admit(ctx, log, commands.Help{}, in); refused {
			return "unknown", outcome, reply
		}
		return "invalid", "usage", s.errorReply(log, err, in.RequestID)
	}
	name = a.Name()
	// Who may ask for a, and where (policy.go); the executor decides the
	// rest once the server is identified.
	d, outcome, reply, refused := s.admit(ctx, log, a, in)
	if refused {
		return name, outcome, reply
	}
	switch a := a.(type) {
	case commands.Help:
		return name, "ok", helpReply(a.Topic) // helpcache.go
	case commands.Approvals:
		return s.listApprovals(ctx, log, name, in)
	case commands.Cancel:
		return s.cancel(ctx, log, name, a.Ticket, in)
	case commands.Audit:
		server, err := s.auditName(ctx, log, a)
		if err != nil {
			return name, "usage", s.errorReply(log, err, in.RequestID)
		}
		return s.audit(ctx, log, name, server)
	}
	if _, ok := a.(commands.Runnable); !ok && !commands.IsMany(a) {
		log.Error("action has no way to run", "action", a.String())
		return name, "error", ephemeral(fmt.Sprintf("Something went wrong (ref %s).", in.RequestID))
	}
	ask := d.Approvals > 0 && !d.Varies // else the executor may still ask, for this server
	if runsHere(a, d, in) {
		if name, outcome, reply, ok := s.readHere(ctx, log, name, a, in); ok { // reads.go
			return name, outcome, reply
		}
	}
	var res approvals.EnqueueResult
	err = s.quick(ctx, func(ctx context.Context) (err error) {
		res, err = s.submit(ctx, Request{Action: a, User: in.User, Channel: in.Channel, Origin: in.Origin, RequestID: in.RequestID, Key: in.Key,
			ResponseURL: in.ResponseURL})
		return err
	})
	if err != nil {
		log.Error("queueing job", "action", a.String(), "err", err)
		return name, "unavailable", ephemeral(msgUnavailable)
	}
	switch {
	case res.Repeat != "":
		log.Info("same request again inside the repeat window; not queued", "action", a.String(), "earlier_job", res.Repeat)
		return name, "repeat", ephemeral(fmt.Sprintf(
			"You asked for %s a moment ago (job `%s`), so I'm not doing it twice: its result, or its approval request, is posted in this channel. "+
				"If you really mean to do it again, ask again in %d minutes.", commands.Code(a.String()), res.Repeat, int(repeatWindow.Minutes())))
	case !res.Queued:
		log.Warn("request delivered again; not queued twice", "action", a.String(), "job", res.ID)
		return name, "duplicate", ephemeral(fmt.Sprintf(
			"%s is already being handled: this request reached the bot more than once, and it runs once.", commands.Code(a.String())))
	}
	// The acknowledgement is the requester's alone, and the answer
	// replaces it: nothing is left behind in the channel.
	if ask {
		return name, "approval", Reply{Interim: true, Message: slackui.Text(fmt.Sprintf(
			"%s needs approval; preparing the request…", commands.Code(a.String())))}
	}
	return name, "queued", Reply{Interim: true, Message: slackui.Text(fmt.Sprintf("Working on %s…", commands.Code(a.String())))}
}

// A Request is work for the executor from any entry point (a command, a
// monitoring webhook, the console).
type Request struct {
	Action commands.Action
	// User is who asked: a Slack user ID, or a name such as "alertmanager".
	User string
	// Channel is where the result (or approval card) is posted; empty means
	// Config.Channel.
	Channel, ThreadTS string
	// Origin names the entry point ("slack", "alertmanager", …).
	Origin    string
	RequestID string
	// Reason is shown on an approval card (e.g. the alert behind it).
	Reason string
	// Key identifies a person's request (Invocation.Key): the job's ID is
	// derived from it, so the request queues one job however often it is
	// delivered, and asking again for the same change in the same channel
	// within repeatWindow queues nothing either.
	Key string
	// ID, when set, is the job's ID, for an entry point with an identity of
	// its own for what it asks (monitoring's alert occurrences): a request
	// with an ID already queued, or run within approvals.JobRetention,
	// queues nothing.
	ID string
	// Ask makes the executor post an approval card for the action whatever
	// the policy says (Reason says why), rather than run it.
	Ask bool
	// Decided says the entry point has decided the request under the
	// policy already (monitoring's pseudo-role and guards): the executor
	// doesn't judge it again as a person's request.
	Decided bool
	// ResponseURL is the command's response_url, when there is one: how
	// its answer reaches the person who asked (responder.go).
	ResponseURL string
}

// repeatWindow is how long a person's request for a change (not a read)
// stops the same person asking for the same change in the same channel
// from queueing it again: long enough to cover asking again after an
// answer that said the bot was unavailable when the job had in fact been
// queued, short enough not to get in the way of doing it again on purpose.
const repeatWindow = 2 * time.Minute

// requestJobID is the job ID of the request identified by key: 16
// characters of base32 (80 bits) of its SHA-256.
func requestJobID(key string) string {
	sum := sha256.Sum256([]byte("bytebot request\x00" + key))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:])[:16])
}

// repeatKey names a person's request for action in channel.
func repeatKey(user, channel string, a commands.Action) string {
	sum := sha256.Sum256([]byte(user + "\x00" + channel + "\x00" + a.String()))
	return hex.EncodeToString(sum[:16])
}

// Submit queues r for the executor and returns the job ID. If the action
// needs approval the executor reads the server and posts an approval card;
// nothing runs until the ticket is approved.
func (s *Server) Submit(ctx context.Context, r Request) (string, error) {
	res, err := s.submit(ctx, r)
	return res.ID, err
}

func (s *Server) submit(ctx context.Context, r Request) (approvals.EnqueueResult, error) {
	job, err := s.Job(r)
	if err != nil {
		return approvals.EnqueueResult{}, err
	}
	rk := ""
	if r.Key != "" && !commands.ReadOnly(r.Action) {
		rk = repeatKey(r.User, job.Channel, r.Action)
	}
	return s.Store.EnqueueOnce(ctx, job, rk, repeatWindow)
}

// Job returns the job that Submit queues for r, for an entry point that
// queues it itself later (approvals.Store.Schedule): the monitoring
// webhooks give a reboot a moment to learn the thread it reports in.
func (s *Server) Job(r Request) (approvals.Job, error) {
	if r.Channel == "" {
		r.Channel = s.Config.Channel
	}
	if r.Channel == "" {
		return approvals.Job{}, errors.New("bot: no channel to report to (set SLACK_CHANNEL)")
	}
	// Whether it needs approval is decided by the executor, once the
	// server is identified (judge).
	meta := jobMeta{Req: r.RequestID, Reason: r.Reason}
	if r.ResponseURL != "" {
		meta.ResponseURL, meta.ResponseAt = r.ResponseURL, s.Now()
	}
	if r.Ask {
		meta.Phase = phaseAsk
	}
	meta.Decided = r.Decided
	job := approvals.Job{
		ID:          r.ID,
		Command:     r.Action.String(),
		RequestedBy: r.User,
		Channel:     r.Channel,
		ThreadTS:    r.ThreadTS,
		Origin:      r.Origin,
		Server:      r.Action.Server(),
		Meta:        meta.encode(nil),
	}
	if r.Key != "" {
		job.ID = requestJobID(r.Key)
	}
	return job, nil
}

// errorReply turns err into an ephemeral reply: a usage error's message, or
// a reference to the logged error.
func (s *Server) errorReply(log *slog.Logger, err error, ref string) Reply {
	var usage *commands.UsageError
	if !errors.As(err, &usage) {
		log.Error("command failed", "err", err)
	}
	return ephemeral(slackui.ErrorText(err, ref))
}

func (s *Server) listApprovals(ctx context.Context, log *slog.Logger, name string, in Invocation) (string, string, Reply) {
	var ts []approvals.Ticket
	err := s.quick(ctx, func(ctx context.Context) (err error) {
		ts, err = s.Store.Pending(ctx)
		return err
	})
	if err != nil {
		log.Error("listing pending tickets", "err", err)
		return name, "unavailable", ephemeral(msgUnavailable)
	}
	if len(ts) == 0 {
		return name, "ok", ephemeral("No approvals are pending.")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Pending approvals (%d)*\n", len(ts))
	for i, t := range ts {
		if i == slackui.MaxListed {
			fmt.Fprintf(&b, "…and %d more\n", len(ts)-slackui.MaxListed)
			break
		}
		fmt.Fprintf(&b, "• `%s` %s, asked by %s in <#%s>, %d of %d approvals, expires %s\n",
			t.ID, commands.Code(t.Command), slackui.Mention(t.RequestedBy), t.Channel, len(t.Approvers), t.Required, slackui.Time(t.ExpiresAt, s.Now()))
	}
	return name, "ok", ephemeral(b.String())
}

// auditName resolves the server of `audit <server>` the way jobs name it in
// the log: its canonical name, whichever alias was typed (web1, 1001, its
// hostname). A server the API no longer knows (purged) or can't be asked
// about in time is looked for by the name as written, fully qualified; a
// wrong hostname suffix is refused.
func (s *Server) auditName(ctx context.Context, log *slog.Logger, a commands.Action) (string, error) {
	server := a.Server()
	if server == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.Config.RequestTimeout)
	defer cancel()
	id, err := s.api.Identify(ctx, server)
	switch {
	case err == nil:
		return id.Name.String(), nil
	case bytemark.IsWrongSuffix(err):
		return "", commands.Explain(a, err)
	case !bytemark.IsNotFound(err):
		log.Warn("identifying the server of an audit query", "server", server, "err", err)
	}
	if n, err := s.api.ResolveName(ctx, server); err == nil {
		return n.Short().String(), nil
	}
	return server, nil
}

func (s *Server) audit(ctx context.Context, log *slog.Logger, name, server string) (string, string, Reply) {
	var es []approvals.Entry
	var total int
	err := s.quick(ctx, func(ctx context.Context) (err error) {
		es, total, err = s.Store.AuditLogTotal(ctx, server, 20)
		return err
	})
	if err != nil {
		log.Error("reading the audit log", "err", err)
		return name, "unavailable", ephemeral(msgUnavailable)
	}
	if len(es) == 0 {
		if server != "" {
			return name, "ok", ephemeral("Nothing in the audit log for " + commands.Code(server) + ".")
		}
		return name, "ok", ephemeral("The audit log is empty.")
	}
	return name, "ok", ephemeral(auditText(es, total))
}

func (s *Server) cancel(ctx context.Context, log *slog.Logger, name, id string, in Invocation) (string, string, Reply) {
	var t approvals.Ticket
	err := s.quick(ctx, func(ctx context.Context) (err error) {
		t, err = s.Store.Cancel(ctx, id, in.User)
		return err
	})
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		return name, "usage", ephemeral(fmt.Sprintf("There is no ticket `%s`.", id))
	case errors.Is(err, approvals.ErrNotRequester):
		return name, "forbidden", ephemeral("Only the person who asked can cancel a ticket.")
	case errors.Is(err, approvals.ErrDecided), errors.Is(err, approvals.ErrExpired):
		return name, "usage", ephemeral(fmt.Sprintf("Ticket `%s` has already been decided or has expired.", id))
	case err != nil:
		log.Error("cancelling ticket", "ticket", id, "err", err)
		return name, "unavailable", ephemeral(msgUnavailable)
	}
	s.metrics.approvals.WithLabelValues("cancelled").Inc()
	s.Go(func() {
		ctx, cancel := background(ctx, 2*time.Minute)
		defer cancel()
		s.updateCard(ctx, log, t.ID, "", false) // says it once, on the card
	})
	return name, "ok", ephemeral(fmt.Sprintf("Cancelled ticket `%s` (%s).", t.ID, commands.Code(t.Command)))
}
