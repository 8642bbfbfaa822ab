package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

// The policy (commands/policy) decides every request, whether it comes from
// a POLICY_FILE or from the older settings (Config.Rules nil: policy.FromEnv
// of the Config's fields, as main builds it without a file). It is decided
// twice: when asked for (Admit: who, where; the server is not known in
// canonical form yet) and by the executor once the server is identified
// (Decide: which rule, how many approvals, from whom). A ticket keeps the
// approvers and the rule that asked for it, so that votes on any replica
// check the same people.

// Policy returns the policy in force.
func (s *Server) Policy() *policy.Policy { return s.pol.Load() }

// SetPolicy puts p in force (a reload, SIGHUP in main): requests and jobs
// decided from now on use it; tickets already open keep their approvers.
func (s *Server) SetPolicy(p *policy.Policy) {
	s.pol.Store(p)
	s.metrics.policy.Reset()
	s.metrics.policy.WithLabelValues(p.Hash, p.Source).Set(1)
}

// PolicyVersion names the policy in force, for /readyz: the first 12
// characters of its hash, and where it came from.
func (s *Server) PolicyVersion() string {
	p := s.Policy()
	return fmt.Sprintf("%.12s (%s)", p.Hash, p.Source)
}

// envPolicy is the policy of c's older fields.
func envPolicy(c Config, log *slog.Logger) *policy.Policy {
	p, err := policy.FromEnv(policy.Env{
		Approvers:         c.Approvers,
		ApprovalsRequired: c.ApprovalsRequired,
		ApprovalTTL:       c.ApprovalTTL,
		ApprovalActions:   c.Policy.String(),
		AllowedUsers:      c.AllowedUsers,
		AllowedChannels:   c.AllowedChannels,
		ProtectedServers:  c.Protected,
	})
	if err != nil {
		// main checks these settings before it gets here; a caller that
		// didn't gets a bot that changes nothing, rather than one that
		// ignores its settings.
		log.Error("bot: the approval settings are invalid; every change is refused", "err", err)
		return &policy.Policy{Source: "invalid settings", Hash: "invalid", Roles: map[string][]string{}, ProtectedBy: "the settings"}
	}
	return p
}

func newPolicyMetric() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bytebot_policy_info",
		Help: "The policy in force: 1 for its hash (SHA-256 of POLICY_FILE, or of the settings it comes from) and source.",
	}, []string{"hash", "source"})
}

// memberOf answers the policy's membership questions from the user-group
// cache.
func (s *Server) memberOf(ctx context.Context, user, group string) (bool, error) {
	members, err := s.groups.members(ctx, group, s.Now())
	if err != nil {
		return false, err
	}
	return slices.Contains(members, user), nil
}

// admit is the policy's check when a person asks for a: it refuses only
// what no rule could allow for a, them and the channel. refused is set
// when the Reply (and outcome, for the metric) is the answer.
func (s *Server) admit(ctx context.Context, log *slog.Logger, a commands.Action, in Invocation) (d policy.Decision, outcome string, reply Reply, refused bool) {
	rctx, cancel := context.WithTimeout(ctx, s.Config.RequestTimeout)
	d, err := s.Policy().Admit(rctx, policy.Request{Action: a, User: in.User, Channel: in.Channel}, s.memberOf)
	cancel()
	var ge *groupError
	switch {
	case errors.As(err, &ge):
		log.Warn("user group of a policy role not counted", "group", ge.Group, "fetched", ge.Fetched, "err", ge.Err)
		return d, "forbidden", ephemeral("Sorry, I can't tell whether you're allowed to use this command: " + ge.why("use it")), true
	case err != nil:
		log.Error("checking the policy", "err", err)
		return d, "unavailable", ephemeral(msgUnavailable), true
	case d.Allowed:
		return d, "", Reply{}, false
	}
	log.Info("refused by the policy", "action", a.String(), "rule", d.RuleLabel, "why", d.Explanation)
	lead := msgNotAllowed
	switch {
	case len(d.Channels) > 0 && !slices.Contains(d.Channels, in.Channel):
		lead = msgNotHere
	case d.Rule < 0:
		lead = "Sorry, no rule allows this."
	}
	return d, "forbidden", ephemeral(lead + " " + d.Explanation), true
}

// judge decides a job with the policy, once its server is identified: a
// person's request, or an approved ticket's job (the protected servers and
// the rule may have changed since it was asked for). Monitoring's jobs are
// decided by the webhooks (hooks*.go) and are not judged here.
func (e *execution) judge(ctx context.Context) {
	if e.judgeMany(ctx) {
		return // many servers: decided on each (fanout.go)
	}
	m := jobMetaOf(e.job)
	if m.Decided || e.idErr != nil {
		return
	}
	a, err := commands.Parse(e.job.Command)
	if err != nil {
		return // run refuses it
	}
	if e.id.ID > 0 {
		a = commands.WithServer(a, e.id.Name.String())
	}
	r := policy.Request{Action: a, User: e.job.RequestedBy, Channel: e.job.Channel}
	var d policy.Decision
	switch server := e.job.Server; {
	case a.Server() == "" || policy.Canonical(a.Server()):
		d, err = e.s.Policy().Decide(ctx, r, e.s.memberOf)
	case policy.Canonical(server):
		r.Server = server
		d, err = e.s.Policy().Decide(ctx, r, e.s.memberOf)
	default:
		// A server the API doesn't know: the action fails by itself.
		d, err = e.s.Policy().Admit(ctx, r, e.s.memberOf)
	}
	if err != nil {
		e.decErr = err
		return
	}
	e.decision = &d
}

// asks reports whether the job is to post an approval card rather than run.
func (e *execution) asks() bool {
	if e.job.TicketID != "" {
		return false
	}
	if e.fan != nil {
		return e.fan.asks()
	}
	if e.decision != nil {
		return e.decision.Allowed && e.decision.Approvals > 0
	}
	return jobMetaOf(e.job).Phase != "" // monitoring's cards; a phase this version doesn't know asks too
}

// refuse ends a job the policy refuses, or whose decision couldn't be
// made; it returns false when the job may go on.
func (e *execution) refuse(ctx context.Context, a commands.Action) (outcome string, done bool) {
	switch {
	case e.decErr != nil:
		var ge *groupError
		why := fmt.Sprintf("the policy couldn't be checked (ref %s). Try again.", e.ref())
		if errors.As(e.decErr, &ge) {
			why = ge.why("ask for it")
		} else {
			e.logErr("deciding with the policy", e.decErr)
		}
		e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Not running %s (for %s): %s", commands.Code(a.String()), slackui.Mention(e.job.RequestedBy), why))
		return "failed", true
	case e.decision == nil || e.decision.Allowed:
		return "", false
	}
	d := e.decision
	outcome = "refused: policy"
	if d.Protected {
		outcome = "refused: protected"
	}
	e.log.Warn("refused by the policy", "server", a.Server(), "rule", d.RuleLabel, "protected", d.Protected)
	e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":no_entry: Not running %s (for %s): %s",
		commands.Code(a.String()), slackui.Mention(e.job.RequestedBy), d.Explanation))
	// A staged purge refused when it falls due stays deleted; its card
	// says why (staged.go). Another approved ticket's card says it wasn't
	// run.
	e.keepStaged(ctx, fmt.Sprintf("Not purged: %s It stays deleted.", d.Explanation))
	if e.job.TicketID != "" && e.job.Origin != approvals.OriginStaged {
		rctx, cancel := e.s.reporting(ctx)
		defer cancel()
		note := ":no_entry: Not run: the policy refuses it now."
		if d.Protected {
			note = ":no_entry: Not run: the server is protected."
		}
		e.s.updateCardWith(rctx, e.log, e.job.TicketID, news{Note: note, Outcome: slackui.OutcomeRefused}, true)
	}
	return outcome, true
}

// approval is the approval a's card asks for: the job's decision, or, for
// a card that monitoring's guards ask for, the one the policy gives such
// cards (policy.ForCard).
func (e *execution) approval(a commands.Action) policy.Decision {
	if d := e.decision; d != nil && d.Allowed && d.Approvals > 0 {
		return *d
	}
	return e.s.Policy().ForCard(a, "")
}

// CanAsk reports whether a card for a, asked for by something other than
// the policy (monitoring's guards), would have anyone to approve it.
func (s *Server) CanAsk(a commands.Action) bool {
	return len(s.Policy().ForCard(a, "").Approvers) > 0
}

// ruleLine is what a card says of the rule that asked for approval and who
// may give it.
func ruleLine(d policy.Decision) string {
	who := make([]string, 0, len(d.Approvers))
	for _, id := range d.Approvers {
		if isGroup(id) {
			who = append(who, "<!subteam^"+id+">")
		} else {
			who = append(who, slackui.Mention(id))
		}
	}
	rule := d.RuleLabel
	if rule == "" {
		rule = "the policy"
	}
	roles := ""
	if len(d.ApproverRoles) > 0 {
		roles = " (" + strings.Join(d.ApproverRoles, ", ") + ")"
	}
	return fmt.Sprintf("%s asks for %d from %s%s", commands.Escape(rule), d.Approvals, strings.Join(who, ", "), commands.Escape(roles))
}

// approversOf returns the users who may vote on ticket id: the approvers
// the ticket recorded, user groups expanded. A ticket made before tickets
// recorded them takes those the policy in force gives its action. This is
// the one approver check of every way of voting.
func (s *Server) approversOf(ctx context.Context, id string) ([]string, []*groupError, error) {
	t, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return s.approversFor(ctx, t)
}

// approversFor is approversOf ticket t, read already (who may approve a
// ticket is fixed when it is opened).
func (s *Server) approversFor(ctx context.Context, t approvals.Ticket) ([]string, []*groupError, error) {
	return s.expand(ctx, s.eligible(t))
}

// eligible is who may approve ticket t (user and user-group IDs): the
// approvers it recorded, or, for a ticket made before tickets recorded
// them (or a result with no ticket), those the policy in force gives a
// card for its command on its server.
func (s *Server) eligible(t approvals.Ticket) []string {
	if t.Eligible != nil {
		return t.Eligible
	}
	a, err := commands.Parse(t.Command)
	if err != nil {
		return nil
	}
	return s.Policy().ForCard(a, t.Server).Approvers
}

// ticketRequest fills in what the decision says of a ticket.
func ticketRequest(r approvals.Request, d policy.Decision) approvals.Request {
	r.Required = d.Approvals
	r.TTL = d.TTL
	r.Eligible = d.Approvers
	r.Rule = ruleLine(d)
	return r
}
