package main

import (
	"context"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/commands"
)

// TestGrafanaAllowNoTimestamp: Grafana signatures without a timestamp are
// refused unless GRAFANA_ALLOW_NO_TIMESTAMP=true reaches the bot.
func TestGrafanaAllowNoTimestamp(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  bool
	}{{"", false}, {"false", false}, {"true", true}} {
		env := validEnv()
		env["GRAFANA_HMAC_SECRET"] = "hmac"
		env["SLACK_CHANNEL"] = "C0OPS"
		if tt.value != "" {
			env["GRAFANA_ALLOW_NO_TIMESTAMP"] = tt.value
		}
		cfg, err := loadConfig(context.Background(), lookupMap(env))
		if err != nil {
			t.Fatal(err)
		}
		if got := botConfig(cfg, commands.Policy{}).Reboot.GrafanaAllowNoTimestamp; got != tt.want {
			t.Errorf("GRAFANA_ALLOW_NO_TIMESTAMP=%q: Reboot.GrafanaAllowNoTimestamp = %v; want %v", tt.value, got, tt.want)
		}
	}
	env := validEnv()
	env["GRAFANA_ALLOW_NO_TIMESTAMP"] = "maybe"
	if _, err := loadConfig(context.Background(), lookupMap(env)); err == nil || !strings.Contains(err.Error(), "GRAFANA_ALLOW_NO_TIMESTAMP") {
		t.Errorf("GRAFANA_ALLOW_NO_TIMESTAMP=maybe: err = %v; want one naming the variable", err)
	}
}
