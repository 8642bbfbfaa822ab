package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

// TestConfigListsEveryProblemAtOnce: the problems that used to show up one
// start at a time (listen address, default account and group,
// APPROVAL_ACTIONS entries, REBOOT_ALLOW, both credentials, SLACK_CHANNEL)
// are in the one message, with the others.
func TestConfigListsEveryProblemAtOnce(t *testing.T) {
	env := validEnv()
	env["LISTEN_ADDR"] = "localhost"
	env["METRICS_ADDR"] = ":99999"
	env["BYTEMARK_ACCOUNT"] = "-acme"
	env["BYTEMARK_GROUP"] = "my_group"
	env["APPROVAL_ACTIONS"] = "delete,frobnicate,list,stpo"
	env["REBOOT_ALLOW"] = "default.acme,web1..acme"
	env["BYTEMARK_USERNAME"], env["BYTEMARK_PASSWORD"] = "u", "p"
	env["SLACK_CHANNEL"] = "#ops"
	env["WEBHOOK_TOKEN"] = "t"
	_, err := loadConfig(context.Background(), lookupMap(env))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("loadConfig = %v; want a *ConfigError", err)
	}
	msg := ce.Long()
	for _, want := range []string{
		`LISTEN_ADDR: "localhost" is not a listen address`,
		`METRICS_ADDR: ":99999" is not a listen address`,
		`BYTEMARK_ACCOUNT: "-acme" is not an account name`,
		`BYTEMARK_GROUP: "my_group" is not a group name`,
		`APPROVAL_ACTIONS: unknown action "frobnicate"`,
		`APPROVAL_ACTIONS: "list" never changes a server`,
		`APPROVAL_ACTIONS: unknown action "stpo" (did you mean "stop"?)`,
		`REBOOT_ALLOW: "web1..acme" is not a group`,
		"set one way of logging in",
		`SLACK_CHANNEL: "#ops" is not a Slack channel ID`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the one message lacks %q:\n%s", want, msg)
		}
	}
}

// TestServeFailsBeforeStarting: a listen address that can't be used is a
// configuration problem like the others, reported before anything is
// logged as starting.
func TestServeFailsBeforeStarting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := validEnv()
	env["LISTEN_ADDR"] = ln.Addr().String() // taken
	env["METRICS_ADDR"] = "127.0.0.1:0"
	env["APPROVAL_ACTIONS"] = "delete,frobnicate"
	var errb bytes.Buffer
	err = run(context.Background(), []string{"serve"}, lookupMap(env), nil, &errb, &errb)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("serve = %v; want a *ConfigError\n%s", err, errb.String())
	}
	for _, want := range []string{"LISTEN_ADDR: " + ln.Addr().String() + ": can't listen", `APPROVAL_ACTIONS: unknown action "frobnicate"`} {
		if !strings.Contains(ce.Long(), want) {
			t.Errorf("serve's message lacks %q:\n%s", want, ce.Long())
		}
	}
	if strings.Contains(errb.String(), "starting") {
		t.Errorf("serve logged that it was starting before failing:\n%s", errb.String())
	}
}

// TestBadValueOnceWithSharedDefault: a bad value of a setting whose
// default comes from the bot is named once, not again as out of range.
func TestBadValueOnceWithSharedDefault(t *testing.T) {
	env := validEnv()
	env["REBOOT_MAX_PER_DAY"] = "many"
	_, err := loadConfig(context.Background(), lookupMap(env))
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 {
		t.Fatalf("loadConfig = %v; want one problem", err)
	}
}
