package main

import (
	"context"
	"strings"
	"testing"
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
		if got := monitorConfig(cfg).GrafanaAllowNoTimestamp; got != tt.want {
			t.Errorf("GRAFANA_ALLOW_NO_TIMESTAMP=%q: monitorConfig(...).GrafanaAllowNoTimestamp = %v; want %v", tt.value, got, tt.want)
		}
	}
	env := validEnv()
	env["GRAFANA_ALLOW_NO_TIMESTAMP"] = "maybe"
	if _, err := loadConfig(context.Background(), lookupMap(env)); err == nil || !strings.Contains(err.Error(), "GRAFANA_ALLOW_NO_TIMESTAMP") {
		t.Errorf("GRAFANA_ALLOW_NO_TIMESTAMP=maybe: err = %v; want one naming the variable", err)
	}
}
