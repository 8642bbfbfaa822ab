package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/commands"
)

// TestLoadErrors feeds one file with a problem on nearly every line and
// checks that each is reported, at its line, all at once.
func TestLoadErrors(t *testing.T) {
	src := `roles:
  ops: [U0ALICE, S0OPS, alice]
  devs: []
  monitoring: [U0MON]
rules:
  - actions: [purge, reimage]
    servers: ["*.production.*"]
    requesters: [opps]
    approvers: [ops]
    approvals: 0
    channels: [C0OPS, general]
    ttl: -5m
  - actions: [purg, restart]
    servers: ["web[.staging.*", "web1.staging", "WEB1.staging.acme"]
    requesters: [devs, U0CAROL]
    approvals: 1
    color: blue
  - actions: [stop]
    approvers: [monitoring]
    approvals: 11
    ttl: soon
protected: ["db1.default"]
`
	_, err := Load("policy.yaml", []byte(src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load = %v; want Errors", err)
	}
	got := es.Error()
	for _, want := range []string{
		`policy.yaml:2: role "ops": "alice" is not a Slack user ID`,
		`policy.yaml:3: role "devs" has no members`,
		`policy.yaml:4: role "monitoring" is built in`,
		`policy.yaml:8: unknown role "opps" (did you mean "ops"?)`,
		`policy.yaml:10: rule 1 (line 6): approvals is 0, but purge`,
		`policy.yaml:11: "general" is not a Slack channel ID`,
		`policy.yaml:12: ttl: -5m0s must be positive`,
		`policy.yaml:13: unknown action "purg" (did you mean "purge"?)`,
		`policy.yaml:14: server glob "web[.staging.*" is malformed`,
		`policy.yaml:14: server glob "web1.staging" must have three parts`,
		`policy.yaml:14: server glob "WEB1.staging.acme": 'W' can't be part`,
		`policy.yaml:15: "U0CAROL" is a Slack ID; rules name roles`,
		`policy.yaml:16: rule 2 (line 13) asks for approvals but names no approvers`,
		`policy.yaml:17: unknown key "color"`,
		`policy.yaml:19: monitoring can ask, but it can't approve`,
		`policy.yaml:20: approvals: 11 is not between 0 and 10`,
		`policy.yaml:21: ttl: "soon" is not a duration`,
		`policy.yaml:22: protected: server glob "db1.default" must have three parts`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q; got:\n%s", want, got)
		}
	}
	// Sorted by line.
	for i := 1; i < len(es); i++ {
		if es[i].Line < es[i-1].Line {
			t.Errorf("errors not in line order:\n%s", got)
			break
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string
	}{
		{"empty", "", "policy.yaml: the file is empty"},
		{"no rules", "roles:\n  ops: [U0A]\n", "policy.yaml: no rules"},
		{"syntax", "rules:\n  - actions: [stop\n", "policy.yaml:"},
		{"unknown top key", "rulez:\n  - actions: [stop]\n", `policy.yaml:1: unknown key "rulez" (did you mean "rules"?)`},
		{"duplicate key", "rules:\n  - actions: [stop]\n    actions: [start]\n", "policy.yaml:3:"},
		{"two documents", "rules:\n  - actions: [stop]\n---\nrules: []\n", "more than one YAML document"},
		{"actions not a list", "rules:\n  - actions: stop\n", "policy.yaml:2:"},
		{"approvals not a number", "roles: {ops: [U0A]}\nrules:\n  - actions: [stop]\n    approvers: [ops]\n    approvals: two\n", `policy.yaml:5: expected a whole number, not "two"`},
		{"implicit zero approvals on purge", "rules:\n  - actions: [purge]\n", "policy.yaml:2: rule 1 (line 2): approvals is 0, but purge can't be undone"},
		{"disc purge too", "rules:\n  - actions: [disc purge]\n    approvals: 0\n", "approvals is 0, but disc purge can't be undone"},
		{"empty servers", "rules:\n  - actions: [stop]\n    servers: []\n", "servers is an empty list"},
		{"no actions", "rules:\n  - servers: ['*.a.b']\n", "rule 1 (line 2) has no actions"},
		{"role is a mapping", "roles:\n  ops: {a: b}\nrules:\n  - actions: [stop]\n", `policy.yaml:2: role "ops" must be a list`},
		{"alias bomb", "a: &a [x, x]\nb: &b [*a, *a]\nrules: [*b]\n", "policy.yaml"},
		{"zero ttl", "rules:\n  - actions: [stop]\n    ttl: 0s\n", "policy.yaml:3: ttl: 0s must be positive"},
		{"too big", "rules: []\n#" + strings.Repeat("x", MaxFileSize), "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load("policy.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Load(%q) = %+v; want an error", tt.src, p)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%q) = %v; want %q", tt.src, err, tt.want)
			}
		})
	}
}

// TestLoadDesignExample loads DESIGN.md's example, the file contract.
func TestLoadDesignExample(t *testing.T) {
	src := `roles:
  ops: [U0ALICE, S0OPS]
  devs: [U0CAROL]
rules:
  - actions: [purge, reimage, delete]
    servers: ["*.production.*"]
    requesters: [ops]
    approvers: [ops]
    approvals: 2
    channels: [C0OPS]
    ttl: 30m
  - actions: [start, stop, restart, reset, shutdown, reboot]
    servers: ["*.staging.*"]
    requesters: [devs, ops]
    approvals: 0
protected: ["db1.default.acme"]
`
	if !slices.Contains(commands.ActionNames(), "reimage") {
		// reimage arrives with the commands that add it.
		src = strings.Replace(src, "purge, reimage, delete", "purge, delete", 1)
	}
	p, err := Load("policy.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := len(p.Rules), 2; got != want {
		t.Fatalf("%d rules; want %d", got, want)
	}
	if got, want := p.Rules[1].Label, "rule 2 (line 12)"; got != want {
		t.Errorf("label %q; want %q", got, want)
	}
	if got, want := p.Rules[0].TTL.String(), "30m0s"; got != want {
		t.Errorf("ttl %s; want %s", got, want)
	}
}
