package reliability

import (
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/internal/bottest"
)

// oneWorker gives the bot one worker, for settled.
func oneWorker(c *bot.Config) { c.Workers = 1 }

// markerServer is the server the marker command reads: no scenario that
// uses settled touches it otherwise.
const markerServer = "db1"

// settled is the positive signal that something did not happen: it runs a
// marker command (show db1) through the executor and waits for its result
// (answered through the command's response_url: a read).
// The queue is first in, first out, so with one worker (Workers: 1) every
// job queued before the marker has run by then. It returns the Bytemark
// requests made since the before-th that are not the marker's: what the
// refused requests wrongly did.
func (ip *inproc) settled(t testing.TB, before int) []string {
	t.Helper()
	want := markerServer + ".default.acme is "
	answers := func() int { return len(ip.Slack.Find("response_url", want)) }
	n := answers()
	if code, text := ip.slash(bottest.UserAsker, bottest.ChanOps, "show "+markerServer); code != 200 {
		t.Fatalf("marker command = %d %q", code, text)
	}
	ip.Slack.Wait(t, "the marker's result", func() bool { return answers() > n })
	var others []string
	for _, r := range ip.fake.Requests()[before:] {
		if r.Method == "GET" && (strings.HasSuffix(r.Path, "/"+markerServer) || strings.HasSuffix(r.Path, "/"+bottest.SeedIDs[markerServer])) {
			continue
		}
		others = append(others, r.Method+" "+r.Path)
	}
	return others
}
