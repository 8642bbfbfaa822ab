package policy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bytebot/bytebot/commands"
)

// Admit is the check made when an action is asked for, before its server is
// known in canonical form (a person may type web1, 1001 or a hostname): it
// refuses only what no rule could allow for this action, requester and
// channel, whatever the server turns out to be. Decide, with the canonical
// server, has the last word when the action runs.
//
// The Decision of an admitted request is that of the first rule that
// admits it for each effect (the strictest across effects); Varies is set
// when other rules that could apply would ask for a different number of
// approvals, so that the caller doesn't promise what the server decides.
func (p *Policy) Admit(ctx context.Context, r Request, member MemberOf) (Decision, error) {
	effects := commands.Effects(r.Action)
	what := commands.Code(r.Action.String())
	var best *Decision
	varies := false
	for _, name := range effects {
		d, v, err := p.admitOne(ctx, r, member, name, what)
		if err != nil {
			return Decision{}, err
		}
		d.Effects = effects
		if !d.Allowed {
			return d, nil
		}
		varies = varies || v
		if best == nil || d.Approvals > best.Approvals {
			best = &d
		}
	}
	best.Varies = varies
	return *best, nil
}

// admitOne admits the effect name of r under the first rule naming it that
// admits the requester and channel; it refuses, with the first such
// rule's reason, when none does.
func (p *Policy) admitOne(ctx context.Context, r Request, member MemberOf, name, what string) (Decision, bool, error) {
	var first, refusal *Decision
	counts := map[int]bool{}
	for i, rule := range p.Rules {
		if !slices.Contains(rule.Actions, name) {
			continue
		}
		d, err := p.check(ctx, i, r, member, "", name, what)
		if err != nil {
			return Decision{}, false, err
		}
		if !d.Allowed {
			if refusal == nil {
				refusal = &d
			}
			continue
		}
		counts[d.Approvals] = true
		if first == nil {
			first = &d
		}
		if rule.Servers == nil {
			break // it matches every server: later rules never apply
		}
	}
	switch {
	case first != nil:
		return *first, len(counts) > 1, nil
	case refusal != nil:
		return *refusal, false, nil
	}
	return p.noRule(name, "", what), false, nil
}

// ForCard is the approval an action needs when something other than the
// policy asks for one (AUTO_REBOOT=approve, the reboot guards): who may
// give it, how many and how long the card waits, from the rules that match
// what the action does on server (the strictest of them), whoever asked and
// wherever. Approvals is at least 1. With no rule naming approvers for it,
// Approvers is empty and the Explanation says what to change.
func (p *Policy) ForCard(a commands.Action, server string) Decision {
	server = cmp.Or(server, a.Server())
	what := commands.Code(a.String())
	best := Decision{Rule: -1, Allowed: true, Approvals: 1, TTL: DefaultTTL, Effects: commands.Effects(a)}
	for _, name := range best.Effects {
		i := p.match(name, server)
		if i < 0 {
			continue
		}
		rule := p.Rules[i]
		if len(rule.Approvers) == 0 {
			continue
		}
		n := max(rule.Approvals, rule.cardApprovals, 1)
		if best.Rule >= 0 && n <= best.Approvals {
			continue
		}
		best.Rule, best.RuleLabel, best.Approvals = i, rule.Label, n
		best.ApproverRoles, best.Approvers = rule.Approvers, p.members(rule.Approvers)
		best.TTL = cmp.Or(rule.TTL, DefaultTTL)
	}
	if best.Rule < 0 {
		best.Explanation = fmt.Sprintf("%s needs an approval, and no rule that matches it%s names approvers. "+
			"To allow it, add approvers to a rule for %s.", what, onServer(server), strings.Join(best.Effects, " or "))
		return best
	}
	best.Explanation = fmt.Sprintf("%s needs %s: %s names who may give it, %s, not the requester, within %s.",
		what, plural(best.Approvals, "approval"), best.RuleLabel, approverList(best.ApproverRoles, best.Approvers), Duration(best.TTL))
	return best
}
