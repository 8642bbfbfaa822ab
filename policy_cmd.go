package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/commands/policy"
)

const policyUsage = `Usage:
  bytebot policy check FILE
  bytebot policy explain FILE --user U… [--channel C…] [--groups S…,S…] "<command>"
  bytebot policy test FILE CASES.yaml
`

// policyCmd runs `bytebot policy …`: offline checks of a policy file.
func policyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return errors.New("policy: which subcommand? check, explain or test")
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			fmt.Fprint(stderr, policyUsage)
			return errors.New("policy check: give one FILE")
		}
		p, err := readPolicy(args[1], stdout)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: OK: %d roles, %d rules, %d protected (sha256 %s)\n", args[1], len(p.Roles), len(p.Rules), len(p.Protected), p.Hash[:12])
		return nil
	case "explain":
		return policyExplain(ctx, args[1:], stdout, stderr)
	case "test":
		if len(args) != 3 {
			fmt.Fprint(stderr, policyUsage)
			return errors.New("policy test: give FILE and CASES.yaml")
		}
		return policyTest(ctx, args[1], args[2], stdout)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, policyUsage)
		return nil
	}
	fmt.Fprint(stderr, policyUsage)
	return fmt.Errorf("policy: unknown subcommand %q", args[0])
}

// readPolicy loads a policy file; its problems go to w, one per line.
func readPolicy(name string, w io.Writer) (*policy.Policy, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	p, err := policy.Load(name, data)
	var es policy.Errors
	if errors.As(err, &es) {
		fmt.Fprintln(w, es.Error())
		return nil, fmt.Errorf("%s: %d problem(s)", name, len(es))
	}
	return p, err
}

func policyExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, policyUsage)
		return errors.New("policy explain: give FILE first")
	}
	name := args[0]
	fs := flag.NewFlagSet("policy explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "the requester's Slack user ID (U…), or monitoring")
	channel := fs.String("channel", "", "the channel ID (C…) where it is asked")
	groups := fs.String("groups", "", "user-group IDs (S…) the user is in, comma-separated")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if *user == "" || text == "" {
		fmt.Fprint(stderr, policyUsage)
		return errors.New("policy explain: give --user and a command")
	}
	p, err := readPolicy(name, stdout)
	if err != nil {
		return err
	}
	c := policyCase{User: *user, Channel: *channel, Command: text}
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			c.Groups = append(c.Groups, g)
		}
	}
	d, err := c.decide(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "command:  %s (does: %s)\n", strings.Trim(d.command, "`"), strings.Join(d.Effects, ", "))
	fmt.Fprintf(stdout, "decision: %s\n", map[string]string{"deny": "refused", "allow": "runs at once",
		"approval": fmt.Sprintf("needs %d approval(s)", d.Approvals)}[d.Outcome()])
	rule := "none"
	if d.Rule >= 0 {
		rule = d.RuleLabel
	}
	fmt.Fprintf(stdout, "rule:     %s\n", rule)
	if d.Rule >= 0 {
		who := "anyone"
		if d.Requesters != nil {
			who = strings.Join(d.Requesters, ", ")
		}
		where := "anywhere"
		if d.Channels != nil {
			where = "in " + strings.Join(d.Channels, ", ")
		}
		fmt.Fprintf(stdout, "may ask:  %s, %s\n", who, where)
		if d.Approvals > 0 {
			fmt.Fprintf(stdout, "approve:  %d of %s (%s), never the requester, within %s\n", d.Approvals,
				strings.Join(d.ApproverRoles, ", "), strings.Join(d.Approvers, ", "), policy.Duration(d.TTL))
		}
	}
	fmt.Fprintf(stdout, "why:      %s\n", d.Explanation)
	return nil
}

// A policyCase is one expected decision in a cases file.
type policyCase struct {
	Name      string   `yaml:"name"`
	User      string   `yaml:"user"`    // a Slack user ID, or monitoring
	Channel   string   `yaml:"channel"` // where it is asked
	Groups    []string `yaml:"groups"`  // user groups (S…) the user is in
	Command   string   `yaml:"command"` // as typed after /bytemark, with canonical server names
	Expect    string   `yaml:"expect"`  // allow, deny or approval
	Approvals *int     `yaml:"approvals"`
}

type explained struct {
	policy.Decision
	command string
}

// decide parses the case's command and asks p. Offline, server names must
// be canonical: there is no default group or account to fill in.
func (c policyCase) decide(ctx context.Context, p *policy.Policy) (explained, error) {
	text := strings.TrimSpace(c.Command)
	text = strings.TrimSpace(strings.TrimPrefix(text, "/bytemark"))
	a, err := commands.Parse(text)
	if err != nil {
		var ue *commands.UsageError
		if errors.As(err, &ue) {
			return explained{}, fmt.Errorf("%q: %s", c.Command, ue.Msg)
		}
		return explained{}, err
	}
	if m, ok := a.(commands.Many); ok {
		return explained{}, fmt.Errorf("%q: %s names many servers, which only the bot can list (from Bytemark); offline, "+
			"ask about each server by its canonical name (e.g. %s)", c.Command, m.Target, m.For("web1.default.ACCOUNT"))
	}
	if s := a.Server(); s != "" && !policy.Canonical(s) {
		return explained{}, fmt.Errorf("%q: %s is not a canonical name; offline there is no default group or account, "+
			"so write name.group.account (e.g. %s.default.ACCOUNT)", c.Command, s, strings.Split(s, ".")[0])
	}
	r := policy.Request{Action: a, User: c.User, Channel: c.Channel}
	if c.User == policy.MonitoringRole {
		r = policy.Request{Action: a, Channel: c.Channel, Monitoring: true}
	}
	member := func(_ context.Context, user, group string) (bool, error) {
		return user == c.User && slices.Contains(c.Groups, group), nil
	}
	d, err := p.Decide(ctx, r, member)
	return explained{Decision: d, command: commands.Code(a.String())}, err
}

func policyTest(ctx context.Context, policyFile, casesFile string, stdout io.Writer) error {
	p, err := readPolicy(policyFile, stdout)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(casesFile)
	if err != nil {
		return err
	}
	var cases []policyCase
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cases); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s", casesFile, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var doc yaml.Node
	var lines []int
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 && doc.Content[0].Kind == yaml.SequenceNode {
		for _, n := range doc.Content[0].Content {
			lines = append(lines, n.Line)
		}
	}
	if len(cases) == 0 {
		return fmt.Errorf("%s: no cases; the file is a list of cases (user, channel, command, expect)", casesFile)
	}
	failed := 0
	for i, c := range cases {
		where := casesFile
		if i < len(lines) {
			where = fmt.Sprintf("%s:%d", casesFile, lines[i])
		}
		fail := func(format string, args ...any) {
			failed++
			label := c.Command
			if c.Name != "" {
				label = c.Name + ": " + c.Command
			}
			fmt.Fprintf(stdout, "%s: %s: %s\n", where, label, fmt.Sprintf(format, args...))
		}
		if !slices.Contains([]string{"allow", "deny", "approval"}, c.Expect) {
			fail("expect must be allow, deny or approval, not %q", c.Expect)
			continue
		}
		if c.User == "" {
			fail("no user")
			continue
		}
		d, err := c.decide(ctx, p)
		if err != nil {
			fail("%v", err)
			continue
		}
		switch {
		case d.Outcome() != c.Expect:
			fail("got %s, want %s: %s", d.Outcome(), c.Expect, d.Explanation)
		case c.Approvals != nil && d.Approvals != *c.Approvals:
			fail("got %d approvals, want %d: %s", d.Approvals, *c.Approvals, d.Explanation)
		}
	}
	if failed > 0 {
		return fmt.Errorf("policy test: %d of %d cases failed", failed, len(cases))
	}
	fmt.Fprintf(stdout, "%s: all %d cases pass\n", casesFile, len(cases))
	return nil
}

// loadPolicy is the policy serve runs under: POLICY_FILE if set, otherwise
// the older settings turned into the same kind of Policy. A bad file fails
// the start with every problem, by line.
func loadPolicy(cfg *Config) (*policy.Policy, error) {
	if cfg.PolicyFile == "" {
		p, err := policy.FromEnv(policy.Env{
			Approvers:         cfg.Approvers,
			ApprovalsRequired: cfg.ApprovalsRequired,
			ApprovalTTL:       cfg.ApprovalTTL,
			ApprovalActions:   cfg.ApprovalActions,
			AllowedUsers:      cfg.AllowedUsers,
			AllowedChannels:   cfg.AllowedChannels,
			ProtectedServers:  cfg.ProtectedServers,
		})
		if err != nil {
			return nil, &ConfigError{Problems: []string{err.Error()}}
		}
		return p, nil
	}
	data, err := os.ReadFile(cfg.PolicyFile)
	if err != nil {
		return nil, &ConfigError{Problems: []string{fmt.Sprintf("POLICY_FILE: %v", err)}}
	}
	p, err := policy.Load(cfg.PolicyFile, data)
	var es policy.Errors
	if errors.As(err, &es) {
		ce := &ConfigError{}
		for _, e := range es {
			ce.Problems = append(ce.Problems, "POLICY_FILE: "+e.Error())
		}
		return nil, ce
	}
	return p, err
}
