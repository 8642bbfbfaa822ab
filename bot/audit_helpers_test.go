package bot_test

import (
	"context"
	"fmt"
)

// auditOutcomes returns the outcomes of the audit entries by actor, oldest first.
func (h *harness) auditOutcomes(actor string) []string {
	h.t.Helper()
	es, err := h.store.AuditLog(context.Background(), "", 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Actor == actor {
			out = append(out, es[i].Outcome)
		}
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// waitAudit waits until the audit log has want entries with outcome by
// actor.
func (h *harness) waitAudit(actor, outcome string, want int) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d %q audit entries", want, outcome), func() bool {
		return count(h.auditOutcomes(actor), outcome) >= want
	})
}
