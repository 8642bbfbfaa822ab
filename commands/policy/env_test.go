package policy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/commands"
)

// today is how bot/core.go's command() decides without a policy file
// (before the Policy is wired in): the ALLOWED_CHANNELS and ALLOWED_USERS
// allowlists first, for every command; then NeedsApproval; an action that
// needs approval with no APPROVERS is refused.
func today(e Env, a commands.Action, user, channel string, member MemberOf) (outcome string, approvals int) {
	if len(e.AllowedChannels) > 0 && !slices.Contains(e.AllowedChannels, channel) {
		return "deny", 0
	}
	if len(e.AllowedUsers) > 0 {
		ok, _ := isMember(context.Background(), e.AllowedUsers, user, member)
		if !ok {
			return "deny", 0
		}
	}
	pol, err := commands.ParsePolicy(e.ApprovalActions)
	if err != nil {
		panic(err)
	}
	if !pol.NeedsApproval(a) {
		return "allow", 0
	}
	if len(e.Approvers) == 0 {
		return "deny", 0
	}
	return "approval", e.ApprovalsRequired
}

// TestFromEnvDecidesAsToday: for every combination of settings, users,
// channels and commands, the Policy FromEnv builds decides exactly as the
// bot does today.
func TestFromEnvDecidesAsToday(t *testing.T) {
	envs := []Env{
		{ApprovalsRequired: 1, ApprovalTTL: 15 * time.Minute, ApprovalActions: "delete"}, // the defaults, no approvers
		{Approvers: []string{"U0ALICE"}, ApprovalsRequired: 1, ApprovalTTL: 15 * time.Minute, ApprovalActions: "delete"},
		{Approvers: []string{"U0ALICE", "S0OPS"}, ApprovalsRequired: 2, ApprovalTTL: time.Hour, ApprovalActions: "delete,stop,disc resize"},
		{Approvers: []string{"U0ALICE"}, ApprovalsRequired: 1, ApprovalTTL: time.Minute, ApprovalActions: "none"},
		{Approvers: []string{"U0ALICE"}, ApprovalsRequired: 1, ApprovalTTL: time.Minute, ApprovalActions: "restart",
			AllowedUsers: []string{"U0ALICE", "U0BOB", "S0DEVS"}},
		{Approvers: []string{"S0OPS"}, ApprovalsRequired: 3, ApprovalTTL: time.Minute, ApprovalActions: "delete,start",
			AllowedUsers: []string{"U0BOB"}, AllowedChannels: []string{"C0OPS", "C0DEV"}},
		{ApprovalsRequired: 1, ApprovalTTL: time.Minute, ApprovalActions: "stop", AllowedChannels: []string{"C0OPS"}},
	}
	g := groups{"S0OPS": {"U0ERIN"}, "S0DEVS": {"U0CAROL"}}
	users := []string{"U0ALICE", "U0BOB", "U0CAROL", "U0ERIN", "U0ZED"}
	chans := []string{"C0OPS", "C0DEV", "C0RANDOM"}
	var cmds []string
	for _, name := range commands.ActionNames() {
		cmds = append(cmds, commands.HelpExamples(name)...)
	}
	cmds = append(cmds, "reboot web1 cycle", "reboot web1 reset", "reboot web1 graceful", "cancel 0123456789abcdef", "approvals")
	n := 0
	for i, e := range envs {
		p, err := FromEnv(e)
		if err != nil {
			t.Fatalf("FromEnv(%+v): %v", e, err)
		}
		for _, text := range cmds {
			a, err := commands.Parse(text)
			if err != nil {
				continue // an example with a placeholder
			}
			server := ""
			if s := a.Server(); s != "" {
				server = strings.Split(s, ".")[0] + ".default.acme"
			}
			for _, u := range users {
				for _, c := range chans {
					n++
					wantOut, wantN := today(e, a, u, c, g.member)
					d, err := p.Decide(context.Background(), Request{Action: a, Server: server, User: u, Channel: c}, g.member)
					if err != nil {
						t.Fatalf("env %d: Decide(%s): %v", i, text, err)
					}
					if d.Outcome() != wantOut || (wantOut == "approval" && d.Approvals != wantN) {
						t.Errorf("env %d, %q by %s in %s: %s (%d approvals); today %s (%d)\n%s",
							i, text, u, c, d.Outcome(), d.Approvals, wantOut, wantN, d.Explanation)
					}
					if wantOut == "approval" {
						if got, want := d.TTL, e.ApprovalTTL; got != want {
							t.Errorf("env %d, %q: ttl %s; want %s", i, text, got, want)
						}
						if got, want := d.Approvers, e.Approvers; !slices.Equal(got, want) {
							t.Errorf("env %d, %q: approvers %v; want %v", i, text, got, want)
						}
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d decisions compared", n)
	}
}

func TestFromEnvExplains(t *testing.T) {
	p, err := FromEnv(Env{ApprovalsRequired: 1, ApprovalTTL: time.Minute, ApprovalActions: "delete",
		AllowedUsers: []string{"U0BOB"}, AllowedChannels: []string{"C0OPS"}, ProtectedServers: []string{"db*.default.acme"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cmd, user, channel string
		want               []string
	}{
		{"delete web1.default.acme", "U0BOB", "C0OPS", []string{"no one may approve it", "set APPROVERS"}},
		{"restart web1.default.acme", "U0ZED", "C0OPS", []string{"add U0ZED to ALLOWED_USERS"}},
		{"restart web1.default.acme", "U0BOB", "C0DEV", []string{"add this channel (C0DEV) to ALLOWED_CHANNELS"}},
		{"purge db1.default.acme", "U0BOB", "C0OPS", []string{"it matches db*.default.acme in PROTECTED_SERVERS"}},
	} {
		d, err := p.Decide(context.Background(), Request{Action: mustParse(t, tt.cmd), User: tt.user, Channel: tt.channel}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			t.Errorf("%s by %s in %s allowed; want refused", tt.cmd, tt.user, tt.channel)
		}
		for _, s := range tt.want {
			if !strings.Contains(d.Explanation, s) {
				t.Errorf("%s: explanation lacks %q:\n%s", tt.cmd, s, d.Explanation)
			}
		}
	}
}

func TestFromEnvRefuses(t *testing.T) {
	for _, tt := range []struct {
		e    Env
		want string
	}{
		{Env{ApprovalActions: "delet"}, `APPROVAL_ACTIONS: commands: unknown action "delet" (did you mean "delete"?)`},
		{Env{ProtectedServers: []string{"db1"}}, `PROTECTED_SERVERS: server glob "db1" must have three parts`},
	} {
		_, err := FromEnv(tt.e)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FromEnv(%+v) = %v; want %q", tt.e, err, tt.want)
		}
	}

}
