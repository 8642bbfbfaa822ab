package policy

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/commands"
)

// groups is user-group membership for tests: group ID -> user IDs.
type groups map[string][]string

func (g groups) member(_ context.Context, user, group string) (bool, error) {
	return slices.Contains(g[group], user), nil
}

func mustParse(t *testing.T, text string) commands.Action {
	t.Helper()
	a, err := commands.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return a
}

// examplePolicy loads examples/policy.yaml, the policy README.md shows.
func examplePolicy(t *testing.T) *Policy {
	t.Helper()
	data, err := os.ReadFile("../../examples/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load("policy.yaml", data)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// TestDecideExample runs requests through README's example policy.
func TestDecideExample(t *testing.T) {
	p := examplePolicy(t)
	g := groups{"S0OPS": {"U0ERIN"}}
	for _, tt := range []struct {
		name          string
		user, channel string
		monitoring    bool
		cmd           string
		outcome       string
		approvals     int
		rule          string   // the deciding rule's label, "" for none
		explain       []string // substrings of the explanation
	}{
		{"dev restarts staging", "U0CAROL", "C0DEV", false, "restart web1.staging.acme", "allow", 0, "rule 3 (line 22)",
			[]string{"runs at once", "rule 3 (line 22) allows restart on web1.staging.acme"}},
		{"dev may not restart production", "U0CAROL", "C0OPS", false, "restart web1.production.acme", "deny", 1, "rule 2 (line 16)",
			[]string{"refused by rule 2 (line 16)", "only ops may ask for restart", "add U0CAROL to a role in the requesters of rule 2 (line 16)"}},
		{"ops purge production: two approvals", "U0ALICE", "C0OPS", false, "purge web1.production.acme", "approval", 2, "rule 1 (line 8)",
			[]string{"needs 2 approvals (rule 1 (line 8) asks for it)", "from ops (U0ALICE, U0BOB, S0OPS)", "within 30m"}},
		{"purge production outside #ops", "U0ALICE", "C0DEV", false, "purge web1.production.acme", "deny", 2, "rule 1 (line 8)",
			[]string{"only in <#C0OPS>", "add this channel (C0DEV) to the channels of rule 1 (line 8)"}},
		{"group member counts as ops", "U0ERIN", "C0OPS", false, "delete web2.production.acme", "approval", 2, "rule 1 (line 8)", nil},
		{"non-member of the group does not", "U0ZED", "C0OPS", false, "delete web2.production.acme", "deny", 2, "rule 1 (line 8)", nil},
		{"disc purge on production", "U0BOB", "C0OPS", false, "disc purge web1.production.acme data", "approval", 2, "rule 1 (line 8)", nil},
		{"cycle is stop and start", "U0BOB", "C0OPS", false, "reboot web1.production.acme cycle", "approval", 1, "rule 2 (line 16)",
			[]string{"does reboot, stop, start", "strictest"}},
		{"staging cycle by a dev", "U0CAROL", "", false, "reboot web1.staging.acme cycle", "allow", 0, "rule 3 (line 22)", nil},
		{"protected database", "U0ALICE", "C0OPS", false, "purge db1.production.acme", "deny", 0, "",
			[]string{"db1.production.acme is protected (it matches db*.production.acme in protected (policy.yaml:33))", "take db*.production.acme out of protected"}},
		{"protected: delete too", "U0ALICE", "C0OPS", false, "delete db2.production.acme", "deny", 0, "", []string{"protected"}},
		{"protected: a restart is fine", "U0ALICE", "C0OPS", false, "restart db1.production.acme", "approval", 1, "rule 2 (line 16)", nil},
		{"monitoring reboots staging", "", "", true, "reboot web1.staging.acme", "allow", 0, "rule 3 (line 22)", nil},
		{"monitoring may not reboot production", "", "", true, "reboot web1.production.acme reset", "deny", 1, "rule 2 (line 16)",
			[]string{"add monitoring to the requesters of rule 2 (line 16)"}},
		{"staging purge: anyone, one approval", "U0ZED", "C0X", false, "purge web1.staging.acme", "approval", 1, "rule 4 (line 27)",
			[]string{"within 1h"}},
		{"no rule for the default group", "U0ALICE", "C0OPS", false, "stop web1.default.acme", "deny", 0, "",
			[]string{"no rule allows stop on web1.default.acme", "rule 2 (line 16) allows stop only on *.production.*",
				"add a glob matching web1.default.acme to the servers of rule 2 (line 16)"}},
		{"reads need no rule", "U0ZED", "C0X", false, "show web1.production.acme", "allow", 0, "", []string{"changes no server"}},
		{"help needs no rule", "U0ZED", "C0X", false, "help", "allow", 0, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.cmd)
			d, err := p.Decide(context.Background(), Request{Action: a, User: tt.user, Channel: tt.channel, Monitoring: tt.monitoring}, g.member)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got := d.Outcome(); got != tt.outcome {
				t.Errorf("%s: outcome %s; want %s (%s)", tt.cmd, got, tt.outcome, d.Explanation)
			}
			if d.Approvals != tt.approvals {
				t.Errorf("%s: %d approvals; want %d (%s)", tt.cmd, d.Approvals, tt.approvals, d.Explanation)
			}
			if d.RuleLabel != tt.rule {
				t.Errorf("%s: rule %q; want %q (%s)", tt.cmd, d.RuleLabel, tt.rule, d.Explanation)
			}
			for _, s := range tt.explain {
				if !strings.Contains(d.Explanation, s) {
					t.Errorf("%s: explanation lacks %q:\n%s", tt.cmd, s, d.Explanation)
				}
			}
		})
	}
}

// TestDecideIrreversibleAlwaysAsks: a hand-built policy that lets a purge
// run at once still asks for one approval (Load refuses such a file; this
// is the second guard).
func TestDecideIrreversibleAlwaysAsks(t *testing.T) {
	p := &Policy{Roles: map[string][]string{"ops": {"U0A"}}, Rules: []Rule{{Label: "r", Actions: []string{"purge", "disc purge"}, Approvers: []string{"ops"}}}}
	for _, cmd := range []string{"purge web1.a.b", "disc purge web1.a.b data"} {
		d, err := p.Decide(context.Background(), Request{Action: mustParse(t, cmd), User: "U0B"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome() != "approval" || d.Approvals != 1 {
			t.Errorf("%s: %s with %d approvals; want approval with 1", cmd, d.Outcome(), d.Approvals)
		}
	}
}

func TestDecideRefusesShortNames(t *testing.T) {
	p := examplePolicy(t)
	_, err := p.Decide(context.Background(), Request{Action: mustParse(t, "restart web1"), User: "U0A"}, nil)
	if err == nil || !strings.Contains(err.Error(), "not a canonical server name") {
		t.Errorf("Decide(restart web1) = %v; want a canonical-name error", err)
	}
}

func TestDecideMembershipError(t *testing.T) {
	p := examplePolicy(t)
	boom := errors.New("slack is down")
	_, err := p.Decide(context.Background(), Request{Action: mustParse(t, "restart web1.production.acme"), User: "U0ZED"},
		func(context.Context, string, string) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Errorf("Decide = %v; want %v", err, boom)
	}
}

func TestMayApprove(t *testing.T) {
	p := examplePolicy(t)
	d, err := p.Decide(context.Background(), Request{Action: mustParse(t, "purge web1.production.acme"), User: "U0ALICE", Channel: "C0OPS"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := groups{"S0OPS": {"U0ERIN"}}
	for user, want := range map[string]bool{"U0BOB": true, "U0ERIN": true, "U0CAROL": false} {
		if got, _ := d.MayApprove(context.Background(), user, g.member); got != want {
			t.Errorf("MayApprove(%s) = %v; want %v", user, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		glob, name string
		want       bool
	}{
		{"*.production.*", "web1.production.acme", true},
		{"*.production.*", "web1.staging.acme", false},
		{"*.*.*", "a.b.c", true},
		{"web*.default.acme", "web12.default.acme", true},
		{"web?.default.acme", "web12.default.acme", false},
		{"web[0-9].default.acme", "web7.default.acme", true},
		{"*", "web1.default.acme", false}, // * never crosses a dot
		{"*.default.acme", "web1.default.acme.evil", false},
		{"db1.default.acme", "DB1.default.acme", true},
	} {
		if got := Match(tt.glob, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v; want %v", tt.glob, tt.name, got, tt.want)
		}
	}
}

// TestIrreversibleNames keeps commands.Irreversible honest: it agrees with
// Destructive for every command's examples.
func TestIrreversibleNames(t *testing.T) {
	for _, name := range commands.ActionNames() {
		for _, ex := range commands.HelpExamples(name) {
			a, err := commands.Parse(ex)
			if err != nil {
				continue
			}
			if got, want := commands.Irreversible(name), a.Destructive(); got != want {
				t.Errorf("Irreversible(%q) = %v; %q is Destructive %v", name, got, ex, want)
			}
		}
	}
}

// TestDecideDefaultsAndReads: approvals default to 1 with approvers and 0
// without; a rule may restrict a read; the first matching rule wins.
func TestDecideDefaultsAndReads(t *testing.T) {
	p, err := Load("p.yaml", []byte(`roles:
  ops: [U0OPS]
rules:
  - actions: [show, list]
    requesters: [ops]
  - actions: [stop]
    servers: ["web1.*.*"]
    approvers: [ops]
  - actions: [stop]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cmd, user, outcome string
		approvals          int
	}{
		{"show web1.a.b", "U0OPS", "allow", 0},
		{"show web1.a.b", "U0DEV", "deny", 0},
		{"list", "U0DEV", "deny", 0}, // a rule without servers covers commands without a server
		{"discs web1.a.b", "U0DEV", "allow", 0},
		{"stop web1.a.b", "U0DEV", "approval", 1}, // approvers, no count: 1
		{"stop web2.a.b", "U0DEV", "allow", 0},    // first match wins: rule 3
	} {
		d, err := p.Decide(context.Background(), Request{Action: mustParse(t, tt.cmd), User: tt.user}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Outcome() != tt.outcome || d.Approvals != tt.approvals {
			t.Errorf("%s by %s: %s with %d approvals; want %s with %d (%s)", tt.cmd, tt.user, d.Outcome(), d.Approvals, tt.outcome, tt.approvals, d.Explanation)
		}
	}
}
