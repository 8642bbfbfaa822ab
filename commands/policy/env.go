package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bytebot/bytebot/commands"
)

// Env is the policy as the older environment variables give it, used when
// POLICY_FILE is unset.
type Env struct {
	Approvers         []string      // APPROVERS
	ApprovalsRequired int           // APPROVALS_REQUIRED
	ApprovalTTL       time.Duration // APPROVAL_TTL
	ApprovalActions   string        // APPROVAL_ACTIONS
	AllowedUsers      []string      // ALLOWED_USERS
	AllowedChannels   []string      // ALLOWED_CHANNELS
	ProtectedServers  []string      // PROTECTED_SERVERS
}

// Role names of the policy FromEnv builds: the variables they come from.
const (
	envApprovers = "APPROVERS"
	envUsers     = "ALLOWED_USERS"
)

// FromEnv turns the environment variables into the Policy they have always
// meant, so that one code path decides either way:
//
//  1. the purges (every irreversible action) and APPROVAL_ACTIONS need
//     APPROVALS_REQUIRED approvals from APPROVERS within APPROVAL_TTL
//     (refused if APPROVERS is empty);
//  2. every other command runs at once.
//
// Both rules admit only ALLOWED_USERS (if set) in ALLOWED_CHANNELS (if set),
// and cover every command, reads and help included, as the allowlists do.
// PROTECTED_SERVERS are the protected globs.
func FromEnv(e Env) (*Policy, error) {
	asked, err := commands.ParsePolicy(e.ApprovalActions)
	if err != nil {
		return nil, fmt.Errorf("APPROVAL_ACTIONS: %w", err)
	}
	p := &Policy{Source: "the environment", Roles: map[string][]string{}, ProtectedBy: "PROTECTED_SERVERS"}
	var problems []string
	for _, g := range e.ProtectedServers {
		if err := CheckGlob(g); err != nil {
			problems = append(problems, "PROTECTED_SERVERS: "+err.Error())
			continue
		}
		p.Protected = append(p.Protected, strings.ToLower(g))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	var requesters, approvers []string
	if len(e.AllowedUsers) > 0 {
		p.Roles[envUsers] = slices.Clone(e.AllowedUsers)
		requesters = []string{envUsers}
	}
	if len(e.Approvers) > 0 {
		p.Roles[envApprovers] = slices.Clone(e.Approvers)
		approvers = []string{envApprovers}
	}
	var channels []string
	if len(e.AllowedChannels) > 0 {
		channels = slices.Clone(e.AllowedChannels)
	}
	var slow, quick []string
	for _, name := range commands.ActionNames() {
		if commands.Irreversible(name) || asked.ApprovalActions[name] {
			slow = append(slow, name)
		} else {
			quick = append(quick, name)
		}
	}
	where := Where{
		Actions:    "APPROVAL_ACTIONS",
		Servers:    "a POLICY_FILE (the environment can't limit servers)",
		Requesters: "ALLOWED_USERS",
		Approvers:  "APPROVERS",
		Channels:   "ALLOWED_CHANNELS",
	}
	p.Rules = []Rule{
		{Label: "the approval rule (APPROVAL_ACTIONS, APPROVERS, APPROVALS_REQUIRED)", Actions: slow, Requesters: requesters,
			Approvers: approvers, Approvals: max(e.ApprovalsRequired, 1), Channels: channels, TTL: e.ApprovalTTL, Where: where},
		// Its approvers approve what AUTO_REBOOT=approve and the reboot
		// guards ask about, as APPROVERS always have (ForCard).
		{Label: "the default rule (anything not in APPROVAL_ACTIONS)", Actions: quick, Requesters: requesters,
			Approvers: approvers, Channels: channels, TTL: e.ApprovalTTL, Where: where, cardApprovals: e.ApprovalsRequired},
	}
	p.Rules[0].cardApprovals = e.ApprovalsRequired
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %d %s %q %q %q %q", e.Approvers, e.ApprovalsRequired, e.ApprovalTTL,
		asked.String(), e.AllowedUsers, e.AllowedChannels, p.Protected))
	p.Hash = hex.EncodeToString(sum[:])
	return p, nil
}
