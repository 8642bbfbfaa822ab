package policy

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAdmitExample: at request time, before the server is known in
// canonical form, README's example policy refuses only what no rule could
// allow for the action, the requester and the channel, and says which rule
// refused and what would allow it.
func TestAdmitExample(t *testing.T) {
	p := examplePolicy(t)
	g := groups{"S0OPS": {"U0ERIN"}}
	for _, tt := range []struct {
		name, user, channel, cmd string
		outcome                  string
		varies                   bool
		explain                  []string
	}{
		{"a dev restarts something", "U0CAROL", "C0DEV", "restart web1", "allow", false, nil},
		{"ops restart: production asks, staging doesn't", "U0ALICE", "C0DEV", "restart web1", "approval", true, nil},
		{"a stranger may not restart anything", "U0ZED", "C0DEV", "restart web1", "deny", false,
			[]string{"refused by rule 2 (line 16)", "only ops may ask for restart", "add U0ZED to a role in the requesters of rule 2 (line 16)"}},
		{"a stranger may ask for a staging purge", "U0ZED", "C0DEV", "purge web1", "approval", false, nil},
		{"ops purge outside #ops: staging still possible", "U0ALICE", "C0DEV", "purge web1", "approval", false, nil},
		{"ops purge in #ops: production or staging", "U0ALICE", "C0OPS", "purge web1", "approval", true, nil},
		{"no rule has resize", "U0ALICE", "C0OPS", "resize web1 cores 2", "deny", false,
			[]string{"no rule allows resize", "add a rule with resize in its actions"}},
		{"reads need no rule", "U0ZED", "C0ANY", "show web1", "allow", false, nil},
		{"help needs no rule", "U0ZED", "C0ANY", "help", "allow", false, nil},
		{"group member counts", "U0ERIN", "C0OPS", "stop web1", "approval", true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Admit(context.Background(), Request{Action: mustParse(t, tt.cmd), User: tt.user, Channel: tt.channel}, g.member)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome() != tt.outcome || d.Varies != tt.varies {
				t.Errorf("Admit(%s by %s in %s) = %s (varies %v); want %s (varies %v): %s",
					tt.cmd, tt.user, tt.channel, d.Outcome(), d.Varies, tt.outcome, tt.varies, d.Explanation)
			}
			for _, want := range tt.explain {
				if !strings.Contains(d.Explanation, want) {
					t.Errorf("explanation %q lacks %q", d.Explanation, want)
				}
			}
		})
	}
}

// TestAdmitFromEnv: with the environment's policy, Admit is the old
// allowlists: the channel first, then the user, for every command.
func TestAdmitFromEnv(t *testing.T) {
	p, err := FromEnv(Env{Approvers: []string{"U0ALICE"}, ApprovalsRequired: 2, ApprovalTTL: time.Hour, ApprovalActions: "delete",
		AllowedUsers: []string{"U0ALICE", "U0BOB"}, AllowedChannels: []string{"C0OPS"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		user, channel, cmd, outcome string
		approvals                   int
		explain                     string
	}{
		{"U0BOB", "C0OPS", "list", "allow", 0, ""},
		{"U0BOB", "C0OPS", "delete web1", "approval", 2, ""},
		{"U0ZED", "C0OPS", "list", "deny", 0, "add U0ZED to ALLOWED_USERS"},
		{"U0BOB", "C0DEV", "help", "deny", 0, "add this channel (C0DEV) to ALLOWED_CHANNELS"},
	} {
		d, err := p.Admit(context.Background(), Request{Action: mustParse(t, tt.cmd), User: tt.user, Channel: tt.channel}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome() != tt.outcome || d.Approvals != tt.approvals || d.Varies || !strings.Contains(d.Explanation, tt.explain) {
			t.Errorf("Admit(%s by %s in %s) = %s, %d approvals, varies %v: %q; want %s, %d, %q",
				tt.cmd, tt.user, tt.channel, d.Outcome(), d.Approvals, d.Varies, d.Explanation, tt.outcome, tt.approvals, tt.explain)
		}
	}
}

// TestForCard: a card that AUTO_REBOOT asks for is approved by the
// approvers of the rule matching the reboot; the environment's policy
// keeps APPROVERS and APPROVALS_REQUIRED for it.
func TestForCard(t *testing.T) {
	p := examplePolicy(t)
	d := p.ForCard(mustParse(t, "reboot web1.production.acme"), "")
	if d.RuleLabel != "rule 2 (line 16)" || d.Approvals != 1 || strings.Join(d.Approvers, ",") != "U0ALICE,U0BOB,S0OPS" {
		t.Errorf("ForCard(production reboot) = %s, %d from %v", d.RuleLabel, d.Approvals, d.Approvers)
	}
	d = p.ForCard(mustParse(t, "reboot web1.staging.acme"), "")
	if len(d.Approvers) != 0 || !strings.Contains(d.Explanation, "names approvers") {
		t.Errorf("ForCard(staging reboot) = %v: %s; want no approvers, explained", d.Approvers, d.Explanation)
	}
	env, err := FromEnv(Env{Approvers: []string{"U0ALICE", "S0OPS"}, ApprovalsRequired: 2, ApprovalTTL: time.Hour, ApprovalActions: "delete"})
	if err != nil {
		t.Fatal(err)
	}
	d = env.ForCard(mustParse(t, "reboot web1.default.acme"), "")
	if d.Approvals != 2 || d.TTL != time.Hour || strings.Join(d.Approvers, ",") != "U0ALICE,S0OPS" {
		t.Errorf("FromEnv ForCard = %d approvals from %v within %s; want 2 from APPROVERS", d.Approvals, d.Approvers, d.TTL)
	}
}

// TestFromEnvHash: the environment's policy has a version too, which
// changes with its settings.
func TestFromEnvHash(t *testing.T) {
	a, _ := FromEnv(Env{ApprovalsRequired: 1, ApprovalActions: "delete"})
	b, _ := FromEnv(Env{ApprovalsRequired: 2, ApprovalActions: "delete"})
	if len(a.Hash) != 64 || a.Hash == b.Hash {
		t.Errorf("hashes %q and %q; want two different SHA-256s", a.Hash, b.Hash)
	}
}
