package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestConsoleTakesServeSettings: the console reads the settings that make
// sense there (APPROVAL_ACTIONS, APPROVALS_REQUIRED, APPROVAL_TTL,
// AUTO_REBOOT, the reboot guards) through serve's configuration code, and
// refuses bad ones the same way; serve's other settings it doesn't need.
func TestConsoleTakesServeSettings(t *testing.T) {
	env := map[string]string{"APPROVAL_ACTIONS": "delete,stop", "APPROVALS_REQUIRED": "2", "APPROVAL_TTL": "1h"}
	var out, errb bytes.Buffer
	script := "/bytemark stop web1\nas alice: approve\n"
	if err := run(context.Background(), []string{"console"}, lookupMap(env), strings.NewReader(script), &out, &errb); err != nil {
		t.Fatalf("console: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"Approval needed: stop web1", "0 of 2", "in an hour", "1 of 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console transcript lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "stopped") {
		t.Errorf("stop ran with one approval of the two APPROVALS_REQUIRED:\n%s", out.String())
	}

	env = map[string]string{"APPROVAL_ACTIONS": "delete,frobnicate", "REBOOT_COOLDOWN": "-5m", "SLACK_BOT_TOKEN": "xoxp-nonsense"}
	err := run(context.Background(), []string{"console"}, lookupMap(env), strings.NewReader(""), &out, &errb)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("console with bad settings = %v; want a *ConfigError", err)
	}
	msg := ce.Long()
	for _, want := range []string{`APPROVAL_ACTIONS: unknown action "frobnicate"`, "REBOOT_COOLDOWN: -5m0s must be positive"} {
		if !strings.Contains(msg, want) {
			t.Errorf("console's message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SLACK_BOT_TOKEN") {
		t.Errorf("console refused a setting it doesn't use:\n%s", msg)
	}
}
