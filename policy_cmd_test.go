package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bot"
)

// runPolicy runs `bytebot policy ARGS…` as main does and returns its output.
func runPolicy(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"policy"}, args...), noEnv, strings.NewReader(""), &out, &errb)
	return out.String() + errb.String(), err
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPolicyExamples runs check and test over the files README.md shows.
func TestPolicyExamples(t *testing.T) {
	out, err := runPolicy(t, "check", "examples/policy.yaml")
	if err != nil || !strings.Contains(out, "examples/policy.yaml: OK: 2 roles, 4 rules, 1 protected") {
		t.Errorf("policy check examples/policy.yaml = %v:\n%s", err, out)
	}
	out, err = runPolicy(t, "test", "examples/policy.yaml", "examples/policy-cases.yaml")
	if err != nil || !strings.Contains(out, "all 11 cases pass") {
		t.Errorf("policy test examples = %v:\n%s", err, out)
	}
}

// TestPolicyExamplesInREADME: README.md shows the example files verbatim.
func TestPolicyExamplesInREADME(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"examples/policy.yaml", "examples/policy-cases.yaml"} {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(readme, body) {
			t.Errorf("README.md doesn't show %s as it is", f)
		}
	}
}

func TestPolicyCheckErrors(t *testing.T) {
	bad := writeFile(t, "policy.yaml", "roles:\n  ops: [U0ALICE]\nrules:\n  - actions: [purge]\n    requesters: [opps]\n    approvals: 0\n    colour: red\n")
	out, err := runPolicy(t, "check", bad)
	if err == nil {
		t.Fatalf("policy check of a bad file succeeded:\n%s", out)
	}
	for _, want := range []string{
		bad + `:5: unknown role "opps" (did you mean "ops"?)`,
		bad + ":6: rule 1 (line 4): approvals is 0, but purge can't be undone",
		bad + `:7: unknown key "colour"`,
		"3 problem(s)",
	} {
		if !strings.Contains(out+err.Error(), want) {
			t.Errorf("output lacks %q:\n%s\n%v", want, out, err)
		}
	}
	if _, err := runPolicy(t, "check", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("policy check of a missing file succeeded")
	}
	if _, err := runPolicy(t, "check"); err == nil {
		t.Error("policy check without a file succeeded")
	}
}

func TestPolicyExplain(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"approval", []string{"--user", "U0ALICE", "--channel", "C0OPS", "purge web1.production.acme"}, []string{
			"command:  purge web1.production.acme (does: purge)",
			"decision: needs 2 approval(s)",
			"rule:     rule 1 (line 8)",
			"may ask:  ops, in C0OPS",
			"approve:  2 of ops (U0ALICE, U0BOB, S0OPS), never the requester, within 30m",
		}},
		{"refused requester", []string{"--user", "U0CAROL", "--channel", "C0OPS", "purge", "web1.production.acme"}, []string{
			"decision: refused",
			"only ops may ask for purge on web1.production.acme. To allow it, add U0CAROL to a role in the requesters of rule 1 (line 8)",
		}},
		{"group member", []string{"--user", "U0ERIN", "--groups", "S0OPS", "--channel", "C0OPS", "/bytemark delete web1.production.acme"}, []string{
			"decision: needs 2 approval(s)",
		}},
		{"cycle", []string{"--user", "U0CAROL", "reboot web1.staging.acme cycle"}, []string{
			"(does: reboot, stop, start)", "decision: runs at once", "may ask:  devs, ops, monitoring, anywhere",
		}},
		{"no rule", []string{"--user", "U0ALICE", "stop web1.default.acme"}, []string{
			"rule:     none", "no rule allows stop on web1.default.acme",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runPolicy(t, append([]string{"explain", "examples/policy.yaml"}, tt.args...)...)
			if err != nil {
				t.Fatalf("policy explain %v: %v\n%s", tt.args, err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	out, err := runPolicy(t, "explain", "examples/policy.yaml", "--user", "U0ALICE", "purge web1")
	if err == nil || !strings.Contains(err.Error(), "web1 is not a canonical name") || !strings.Contains(err.Error(), "web1.default.ACCOUNT") {
		t.Errorf("explain with a short name = %v; want a hint\n%s", err, out)
	}
	out, err = runPolicy(t, "explain", "examples/policy.yaml", "--user", "U0CAROL", "restart web*.staging.acme")
	if err == nil || !strings.Contains(err.Error(), "names many servers") || !strings.Contains(err.Error(), "restart web1.default.ACCOUNT") {
		t.Errorf("explain of a target of many servers = %v; want it to ask about each server\n%s", err, out)
	}
	if _, err := runPolicy(t, "explain", "examples/policy.yaml", "purge web1.a.b"); err == nil {
		t.Error("explain without --user succeeded")
	}
}

func TestPolicyTestFailures(t *testing.T) {
	cases := writeFile(t, "cases.yaml", `- name: wrong outcome
  user: U0CAROL
  command: restart web1.production.acme
  expect: allow
- user: U0ALICE
  channel: C0OPS
  command: purge web1.production.acme
  expect: approval
  approvals: 1
- user: U0ALICE
  command: restart web1
  expect: allow
- user: U0ALICE
  command: restart web1.staging.acme
  expect: maybe
- user: U0ALICE
  command: restart web1.staging.acme
  expect: allow
`)
	out, err := runPolicy(t, "test", "examples/policy.yaml", cases)
	if err == nil || !strings.Contains(err.Error(), "4 of 5 cases failed") {
		t.Fatalf("policy test = %v; want 4 of 5 failed\n%s", err, out)
	}
	for _, want := range []string{
		cases + ":1: wrong outcome: restart web1.production.acme: got deny, want allow",
		cases + ":5: purge web1.production.acme: got 2 approvals, want 1",
		cases + ":10: restart web1: ",
		cases + `:13: restart web1.staging.acme: expect must be allow, deny or approval, not "maybe"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ":16:") {
		t.Errorf("the passing case is reported:\n%s", out)
	}

	bad := writeFile(t, "cases.yaml", "- user: U0A\n  command: help\n  expect: allow\n  colour: red\n")
	if _, err := runPolicy(t, "test", "examples/policy.yaml", bad); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("policy test with an unknown key = %v; want line 4", err)
	}
}

// TestServeRefusesBadPolicy: serve loads POLICY_FILE first, and a bad file
// stops the start with its problems by line.
func TestServeRefusesBadPolicy(t *testing.T) {
	bad := writeFile(t, "policy.yaml", "rules:\n  - actions: [stopp]\n")
	env := validEnv()
	delete(env, "APPROVERS")
	env["POLICY_FILE"] = bad
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve"}, lookupMap(env), strings.NewReader(""), &out, &errb)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("serve = %v; want a ConfigError", err)
	}
	if want := "POLICY_FILE: " + bad + `:2: unknown action "stopp" (did you mean "stop"?)`; !strings.Contains(ce.Long(), want) {
		t.Errorf("error lacks %q:\n%s", want, ce.Long())
	}
}

// TestReloadPolicy: SIGHUP's reload puts a valid POLICY_FILE in force, and
// a bad one keeps the policy in force and logs every problem, by line.
func TestReloadPolicy(t *testing.T) {
	file := writeFile(t, "policy.yaml", string(readTestFile(t, "examples/policy.yaml")))
	cfg := &Config{PolicyFile: file}
	first, err := loadPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	srv := bot.New(bot.Config{Rules: first}, nil, nil, nil, logger)
	if srv.Policy().Hash != first.Hash {
		t.Fatalf("policy in force %s; want the file's %s", srv.Policy().Hash, first.Hash)
	}

	if err := os.WriteFile(file, []byte("rules:\n  - actions: [stopp]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reloadPolicy(cfg, srv, logger)
	if srv.Policy() != first {
		t.Errorf("a bad file replaced the policy in force")
	}
	if want := `:2: unknown action \"stopp\" (did you mean \"stop\"?)`; !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "not reloaded") {
		t.Errorf("log lacks %q and \"not reloaded\":\n%s", want, logs.String())
	}

	if err := os.WriteFile(file, []byte("roles:\n  ops: [U0ALICE]\nrules:\n  - actions: [restart]\n    requesters: [ops]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reloadPolicy(cfg, srv, logger)
	if got := srv.Policy(); got == first || len(got.Rules) != 1 || !strings.Contains(logs.String(), "policy reloaded") {
		t.Errorf("after a good file: %d rules, hash %s (was %s):\n%s", len(got.Rules), got.Hash, first.Hash, logs.String())
	}
	if v := srv.PolicyVersion(); !strings.HasPrefix(v, srv.Policy().Hash[:12]+" ("+file) {
		t.Errorf("PolicyVersion = %q; want the new hash and the file", v)
	}
}

func readTestFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
