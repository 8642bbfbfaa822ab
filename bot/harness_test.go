package bot_test

import (
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// harness is the bot as main builds it, on real parts
// (internal/bottest), with the methods of bot's own tests.
type harness struct{ *bottest.Bot }

// newHarness builds and runs the bot; its workers look for jobs every
// 100ms, so that it stops quickly at the end of the test.
func newHarness(t testing.TB, opts ...bottest.Option) *harness {
	t.Helper()
	stopQuickly := bottest.BeforeRun(func(b *bottest.Bot) { b.Server.SetClaimBlock(100 * time.Millisecond) })
	return &harness{bottest.New(t, append([]bottest.Option{stopQuickly}, opts...)...)}
}

// The short names bench_test.go uses: bottest's.
const (
	testSecret = bottest.SigningSecret
	chanOps    = bottest.ChanOps
	userAsker  = bottest.UserAsker
	userAppr1  = bottest.UserAppr1
	userAppr2  = bottest.UserAppr2
)
