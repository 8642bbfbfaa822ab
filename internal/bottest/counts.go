package bottest

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

// SeedIDs are the IDs of the fake's demo servers.
var SeedIDs = map[string]string{"web1": "1001", "web2": "1002", "db1": "1003", "old1": "1004", "stage1": "1005"}

// Purges counts the purge requests (DELETE …?purge=true) f received for
// server (by name, or by its ID as the bot purges).
func Purges(f *bytemarktest.Server, server string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == http.MethodDelete && (strings.HasSuffix(r.Path, "/"+server) || strings.HasSuffix(r.Path, "/"+SeedIDs[server])) && strings.Contains(r.Query, "purge=true") {
			n++
		}
	}
	return n
}

// Writes counts the requests to f that could change something (anything
// but reads and logins).
func Writes(f *bytemarktest.Server) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.HasPrefix(r.Path, "/session") {
			n++
		}
	}
	return n
}

// Resets counts the reset signals f received for server ("" for any).
func Resets(f *bytemarktest.Server, server string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost && (server == "" || strings.Contains(r.Path, "/virtual_machines/"+server+"/")) &&
			strings.HasSuffix(r.Path, "/signal") && strings.Contains(r.Body, "reset") {
			n++
		}
	}
	return n
}

// Purges counts the purges of server the bot's fake received.
func (b *Bot) Purges(server string) int { return Purges(b.Fake, server) }

// Writes counts the requests to the bot's fake that could change something.
func (b *Bot) Writes() int { return Writes(b.Fake) }

// Resets counts the reset signals for server ("" for any) the bot's fake
// received.
func (b *Bot) Resets(server string) int { return Resets(b.Fake, server) }

// AuditOutcomes returns the outcomes of the audit entries by actor, oldest
// first.
func (b *Bot) AuditOutcomes(actor string) []string {
	b.T.Helper()
	es, err := b.Store.AuditLog(context.Background(), "", 1000)
	if err != nil {
		b.T.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Actor == actor {
			out = append(out, es[i].Outcome)
		}
	}
	return out
}

// Count is how many times s is in list.
func Count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// WaitAudit waits until the audit log has want entries with outcome by
// actor (the background work of a command or a webhook is done).
func (b *Bot) WaitAudit(actor, outcome string, want int) {
	b.T.Helper()
	b.WaitFor(fmt.Sprintf("%d %q audit entries", want, outcome), func() bool {
		return Count(b.AuditOutcomes(actor), outcome) >= want
	})
}
