package monitor_test

import (
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot/monitor"
	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

const (
	testHMACSecret = "test-grafana-hmac-secret"
	pathAM         = monitor.PathAlertmanager
	pathGrafana    = monitor.PathGrafana
)

// harness is the bot as main builds it, on real parts
// (internal/bottest), with the methods of the webhooks' tests.
type harness struct{ *bottest.Bot }

func newHarness(t testing.TB, opts ...bottest.Option) *harness {
	t.Helper()
	return &harness{bottest.New(t, opts...)}
}

// hookHarness is the harness with webhooks configured (bottest.WithHooks).
func hookHarness(t *testing.T, mode string, change func(*monitor.Config), opts ...bottest.Option) *harness {
	t.Helper()
	return newHarness(t, append([]bottest.Option{bottest.WithHooks(mode, change)}, opts...)...)
}

// firing is a firing InstanceDown alert for server, named by the
// bytemark_server label (REBOOT_LABEL's default), started at start.
func firing(server string, start time.Time) slacktest.Alert {
	return slacktest.Firing("bytemark_server", server, start)
}

// amDelivery is an Alertmanager delivery of alerts.
func amDelivery(alerts ...slacktest.Alert) []byte { return slacktest.Alertmanager(alerts...).JSON() }
