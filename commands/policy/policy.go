// Package policy decides who may ask for an action, where, on which
// servers, and who must approve it first. A Policy comes from a YAML file
// (Load, the POLICY_FILE contract in DESIGN.md) or from the older
// environment variables (FromEnv); both give the same value, decided by the
// same code.
//
// Rules match what an action does (commands.Effects), not the word typed:
// `reboot web1 cycle` is a reboot, a stop and a start, and the strictest of
// the rules matching those applies.
package policy

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/bytebot/bytebot/commands"
)

// MonitoringRole is the pseudo-role of requests made by monitoring (the
// auto-reboot webhooks). Rules may name it in requesters without defining it.
const MonitoringRole = "monitoring"

// DefaultTTL is how long an approval request waits when its rule sets no ttl.
const DefaultTTL = 15 * time.Minute

// A Policy is a list of rules, the roles they name and the protected servers.
type Policy struct {
	// Source names where the policy came from: a file name, or
	// "the environment".
	Source string
	// Hash is the SHA-256 of the file, in hex (for the environment, of
	// the settings that make the policy): the policy's version.
	Hash string
	// Roles maps a role name to Slack user IDs (U…, W…) and user-group IDs (S…).
	Roles map[string][]string
	// Rules are tried in order; the first that matches an action and its
	// server applies.
	Rules []Rule
	// Protected are globs of servers that are never deleted, purged or
	// reimaged; ProtectedBy names the setting, for explanations.
	Protected   []string
	ProtectedBy string
}

// A Rule says who may ask for some actions on some servers, where, and who
// must approve them.
type Rule struct {
	// Label names the rule in explanations: "rule 2 (line 14)".
	Label string
	// Actions are command names (commands.ActionNames), matched against
	// what an action does.
	Actions []string
	// Servers are globs over canonical names (name.group.account); nil
	// matches every action, with or without a server.
	Servers []string
	// Requesters are roles that may ask; nil: anyone.
	Requesters []string
	// Approvers are roles that may approve.
	Approvers []string
	// Approvals is how many distinct people must approve; 0 runs at once.
	// Irreversible actions always need at least 1.
	Approvals int
	// Channels are where the action may be asked for; nil: anywhere.
	Channels []string
	// TTL is how long an approval request waits (0: DefaultTTL).
	TTL time.Duration
	// Where says which setting to change, for explanations.
	Where Where
	// cardApprovals is how many approvals a card under this rule needs
	// when something else asks for one (ForCard); FromEnv sets it to
	// APPROVALS_REQUIRED.
	cardApprovals int
}

// Where names the settings behind a rule's parts, so that an explanation
// can say what to change: "requesters of rule 2 (line 14)", or
// "ALLOWED_USERS".
type Where struct {
	Actions, Servers, Requesters, Approvers, Channels string
}

// A Request is an action someone asks for, as the policy sees it.
type Request struct {
	Action commands.Action
	// Server is the action's server in canonical form, name.group.account
	// ("" uses Action.Server(), which must then be canonical).
	Server string
	// User is the requester's Slack user ID; Channel where they asked.
	User, Channel string
	// Monitoring marks a request made by monitoring: it has the pseudo-role
	// MonitoringRole and no user.
	Monitoring bool
}

// MemberOf reports whether a Slack user is in a Slack user group (S…). The
// caller resolves it (from Slack, or from a list offline); an error makes
// Decide fail with it. A nil MemberOf knows no members.
type MemberOf func(ctx context.Context, user, group string) (bool, error)

// A Decision is what the policy says of a request, and why.
type Decision struct {
	// Allowed is false when the request is refused.
	Allowed bool
	// Rule is the index in Policy.Rules of the rule that decided (-1 if
	// none did) and RuleLabel its label ("rule 2 (line 14)").
	Rule      int
	RuleLabel string
	// Effects is what the action does (commands.Effects).
	Effects []string
	// Approvals needed before it runs (0: at once); on a refusal, what
	// the deciding rule would have asked for.
	Approvals int
	// Approvers may approve: Slack user and user-group IDs, and the names
	// of the roles they come from. Requesters and Channels are who may
	// ask and where, per the deciding rule (nil: anyone, anywhere).
	Approvers, ApproverRoles []string
	Requesters, Channels     []string
	// TTL is how long the approval request waits.
	TTL time.Duration
	// Protected is true when a protected server refused the action.
	Protected bool
	// Explanation says, for people, which rule decided and why: for a
	// refusal, what would allow it; for an approval, who may give it.
	Explanation string
	// Varies is set by Admit when the approvals depend on the server,
	// which is not known yet.
	Varies bool
}

// Outcome is "deny", "approval" or "allow".
func (d Decision) Outcome() string {
	switch {
	case !d.Allowed:
		return "deny"
	case d.Approvals > 0:
		return "approval"
	}
	return "allow"
}

// MayApprove reports whether user is one of d's approvers, directly or
// through a user group. It does not know who asked: the requester never
// counts, and the caller checks that.
func (d Decision) MayApprove(ctx context.Context, user string, member MemberOf) (bool, error) {
	return isMember(ctx, d.Approvers, user, member)
}

// MentionsMonitoring reports whether a rule names the monitoring
// pseudo-role among its requesters.
func (p *Policy) MentionsMonitoring() bool {
	for _, r := range p.Rules {
		if slices.Contains(r.Requesters, MonitoringRole) {
			return true
		}
	}
	return false
}

// destroys is whether an effect deletes, purges or reimages a server, which
// protected servers never allow.
func destroys(name string) bool {
	return name == "delete" || commands.Irreversible(name)
}

// Decide says whether r may go ahead, with how many approvals and from
// whom. It fails only when membership can't be resolved or r's server is
// not canonical; every refusal is a Decision with Allowed false.
func (p *Policy) Decide(ctx context.Context, r Request, member MemberOf) (Decision, error) {
	server := cmp.Or(r.Server, r.Action.Server())
	if server != "" && !Canonical(server) {
		return Decision{}, fmt.Errorf("policy: %q is not a canonical server name (name.group.account)", server)
	}
	effects := commands.Effects(r.Action)
	what := commands.Code(r.Action.String())

	if server != "" {
		for _, name := range effects {
			if !destroys(name) && !r.Action.Destructive() {
				continue
			}
			for _, g := range p.Protected {
				if Match(g, server) {
					return Decision{Rule: -1, Effects: effects, Protected: true, Explanation: fmt.Sprintf(
						"%s is refused: %s is protected (it matches %s in %s), so it is never deleted, purged or reimaged. "+
							"To allow it, take %s out of %s.", what, server, g, p.ProtectedBy, g, p.ProtectedBy)}, nil
				}
			}
		}
	}

	var best *Decision
	for _, name := range effects {
		d, err := p.decideOne(ctx, r, member, server, name, what)
		if err != nil {
			return Decision{}, err
		}
		d.Effects = effects
		if !d.Allowed {
			return d, nil
		}
		if best == nil || d.Approvals > best.Approvals || (best.Rule < 0 && d.Rule >= 0 && d.Approvals == best.Approvals) {
			best = &d
		}
	}
	if len(effects) > 1 && best.Rule >= 0 {
		best.Explanation += fmt.Sprintf(" (%s does %s; the strictest rule that matches any of them applies.)",
			commands.Code(r.Action.String()), strings.Join(effects, ", "))
	}
	return *best, nil
}

// decideOne decides one effect of r.
func (p *Policy) decideOne(ctx context.Context, r Request, member MemberOf, server, name, what string) (Decision, error) {
	i := p.match(name, server)
	if i < 0 {
		return p.noRule(name, server, what), nil
	}
	return p.check(ctx, i, r, member, server, name, what)
}

// noRule is the decision on the effect name when no rule names it.
func (p *Policy) noRule(name, server, what string) Decision {
	if !commands.Changes(name) {
		return Decision{Allowed: true, Rule: -1, Explanation: fmt.Sprintf(
			"%s changes no server and no rule names %s, so anyone may ask for it anywhere.", what, name)}
	}
	return Decision{Rule: -1, Explanation: fmt.Sprintf("%s is refused: no rule allows %s%s. %s",
		what, name, onServer(server), p.fix(name, server))}
}

// check decides the effect name of r under rule i.
func (p *Policy) check(ctx context.Context, i int, r Request, member MemberOf, server, name, what string) (Decision, error) {
	rule := p.Rules[i]
	d := Decision{
		Allowed:       true,
		Rule:          i,
		RuleLabel:     rule.Label,
		Approvals:     rule.Approvals,
		ApproverRoles: rule.Approvers,
		Approvers:     p.members(rule.Approvers),
		Requesters:    rule.Requesters,
		Channels:      rule.Channels,
		TTL:           cmp.Or(rule.TTL, DefaultTTL),
	}
	if commands.Irreversible(name) || r.Action.Destructive() {
		d.Approvals = max(d.Approvals, 1)
	}
	refuse := func(format string, args ...any) (Decision, error) {
		d.Allowed = false
		d.Explanation = fmt.Sprintf("%s is refused by %s: ", what, rule.Label) + fmt.Sprintf(format, args...)
		return d, nil
	}
	if len(rule.Channels) > 0 && !slices.Contains(rule.Channels, r.Channel) {
		return refuse("%s may be asked for only in %s. Ask there, or add this channel (%s) to %s.",
			name, channelList(rule.Channels), cmp.Or(r.Channel, "none"), rule.Where.Channels)
	}
	if len(rule.Requesters) > 0 {
		ok, err := p.mayAsk(ctx, rule.Requesters, r, member)
		if err != nil {
			return Decision{}, err
		}
		if !ok {
			fix := fmt.Sprintf("add %s to %s", cmp.Or(r.User, "the requester"), rule.Where.Requesters)
			if r.Monitoring {
				fix = fmt.Sprintf("add %s to the requesters of %s", MonitoringRole, rule.Label)
			}
			return refuse("only %s may ask for %s%s. To allow it, %s.",
				strings.Join(rule.Requesters, ", "), name, onServer(server), fix)
		}
	}
	if d.Approvals > 0 && len(d.Approvers) == 0 {
		return refuse("it needs %s, and no one may approve it. To allow it, set %s.",
			plural(d.Approvals, "approval"), rule.Where.Approvers)
	}
	if d.Approvals == 0 {
		d.Explanation = fmt.Sprintf("%s runs at once: %s allows %s%s with no approval.", what, rule.Label, name, onServer(server))
		return d, nil
	}
	d.Explanation = fmt.Sprintf("%s needs %s (%s asks for it): from %s, not the requester, within %s.",
		what, plural(d.Approvals, "approval"), rule.Label, approverList(d.ApproverRoles, d.Approvers), Duration(d.TTL))
	return d, nil
}

// match returns the index of the first rule for the effect name on server,
// or -1.
func (p *Policy) match(name, server string) int {
	for i, r := range p.Rules {
		if slices.Contains(r.Actions, name) && r.matchesServer(server) {
			return i
		}
	}
	return -1
}

func (r Rule) matchesServer(server string) bool {
	if r.Servers == nil {
		return true
	}
	if server == "" {
		return false
	}
	return slices.ContainsFunc(r.Servers, func(g string) bool { return Match(g, server) })
}

// fix says which rule to change so that name is allowed on server.
func (p *Policy) fix(name, server string) string {
	for _, r := range p.Rules {
		if slices.Contains(r.Actions, name) {
			return fmt.Sprintf("%s allows %s only on %s; to allow it here, add a glob matching %s to %s (or a rule before it).",
				r.Label, name, strings.Join(r.Servers, ", "), server, r.Where.Servers)
		}
	}
	for _, r := range p.Rules {
		if r.matchesServer(server) {
			return fmt.Sprintf("To allow it, add %s to %s.", name, r.Where.Actions)
		}
	}
	return fmt.Sprintf("To allow it, add a rule with %s in its actions%s.", name, serversFor(server))
}

func serversFor(server string) string {
	if server == "" {
		return ""
	}
	return " and servers matching " + server
}

// mayAsk reports whether r's requester has one of roles.
func (p *Policy) mayAsk(ctx context.Context, roles []string, r Request, member MemberOf) (bool, error) {
	if r.Monitoring {
		return slices.Contains(roles, MonitoringRole), nil
	}
	return isMember(ctx, p.members(roles), r.User, member)
}

// members returns the IDs of roles, in order, without repeats.
func (p *Policy) members(roles []string) []string {
	var ids []string
	for _, role := range roles {
		for _, id := range p.Roles[role] {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// isMember reports whether user is one of ids, or in one of its user groups.
func isMember(ctx context.Context, ids []string, user string, member MemberOf) (bool, error) {
	if user == "" {
		return false, nil
	}
	if slices.Contains(ids, user) {
		return true, nil
	}
	if member == nil {
		return false, nil
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "S") {
			continue
		}
		ok, err := member(ctx, user, id)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// Canonical reports whether name has the form name.group.account.
func Canonical(name string) bool {
	parts := strings.Split(name, ".")
	return len(parts) == 3 && !slices.Contains(parts, "")
}

// Match reports whether the server glob g matches the canonical server
// name. Globs have three dot-separated parts, name.group.account, each
// matched with path.Match: `*` and `?` never cross a dot, so
// `*.production.*` matches web1.production.acme but not
// web1.production.acme.evil. Case doesn't matter.
func Match(g, name string) bool {
	gp, np := strings.Split(strings.ToLower(g), "."), strings.Split(strings.ToLower(name), ".")
	if len(gp) != 3 || len(np) != 3 {
		return false
	}
	for i := range gp {
		if ok, err := path.Match(gp[i], np[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// CheckGlob returns why g is not a valid server glob, or nil.
func CheckGlob(g string) error {
	parts := strings.Split(g, ".")
	if len(parts) != 3 {
		return fmt.Errorf("server glob %q must have three parts, name.group.account (e.g. *.staging.* or db1.default.acme)", g)
	}
	for _, part := range parts {
		if part == "" {
			return fmt.Errorf("server glob %q has an empty part", g)
		}
		for _, c := range part {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-*?[]^!", c)) {
				return fmt.Errorf("server glob %q: %q can't be part of a server name or glob (names are lowercase letters, digits and -)", g, c)
			}
		}
		if _, err := path.Match(part, ""); err != nil {
			return fmt.Errorf("server glob %q is malformed (an unclosed [ or a bad range)", g)
		}
	}
	return nil
}

func onServer(server string) string {
	if server == "" {
		return ""
	}
	return " on " + server
}

func channelList(ids []string) string {
	var s []string
	for _, id := range ids {
		s = append(s, "<#"+id+">")
	}
	return strings.Join(s, ", ")
}

func approverList(roles, ids []string) string {
	return fmt.Sprintf("%s (%s)", strings.Join(roles, ", "), strings.Join(ids, ", "))
}

// Duration formats d as people write it in a policy: 30m, 1h, 1h30m.
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
