package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestConsoleAlert fires test alerts from the console through the whole
// webhook path (the Alertmanager route's handler, the guards, the report,
// the executor): the first reboots web1, in its summary's thread; a second
// is held back by the cooldown; a resolve goes to the thread of the alert
// it resolves; bad usage says how to use it.
func TestConsoleAlert(t *testing.T) {
	script := "alert web1\nalert web1\nalert resolve web1\nalert resolve web1\nalert\n"
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"console"}, noEnv, strings.NewReader(script), &out, &errb); err != nil {
		t.Fatalf("console: %v\n%s", err, errb.String())
	}
	steps := strings.Split(out.String(), "\nyou> ")
	if got, want := len(steps), 7; got != want {
		t.Fatalf("transcript has %d prompts; want %d:\n%s", got, want, out.String())
	}
	for i, want := range [][]string{
		{"*Alertmanager*: 1 firing", "Rebooting `web1.default.acme` (reset)", "answered 200 (1 rebooting)",
			"↳ bytebot (thread 1)", "web1.default.acme rebooted by reset"},
		{"Not rebooting `web1.default.acme`: cooldown", "answered 200 (1 cooldown)"},
		{"↳ bytebot (thread 3)", "Resolved: `web1.default.acme`", "answered 200 (1 resolved)"},
		{"no test alert for web1 is firing"},
		{"write `alert SERVER`"},
	} {
		for _, s := range want {
			if !strings.Contains(steps[i+1], s) {
				t.Errorf("step %d lacks %q:\n%s", i+1, s, steps[i+1])
			}
		}
	}
	if strings.Contains(steps[2], "rebooted by reset") {
		t.Errorf("the second alert rebooted web1 again:\n%s", steps[2])
	}
}
