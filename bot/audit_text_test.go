package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/approvals"
)

// TestAuditText: the audit answer says when it was cut, shows one job ID
// per action, and names people as mentions, never a raw user ID beside one.
func TestAuditText(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	es := []approvals.Entry{ // newest first, as AuditLog returns them
		{Time: at, Actor: "U0ASK", Action: "delete web2.default.acme", Ticket: "tk1", Outcome: "done", Detail: "job runjob1 server 1002"},
		{Time: at, Actor: "U0ASK", Action: "delete web2.default.acme", Ticket: "tk1", Outcome: "started", Detail: "job runjob1"},
		{Time: at, Actor: "U0ALICE", Action: "delete web2.default.acme", Ticket: "tk1", Outcome: "approved", Detail: "approved by U0ALICE; job runjob1"},
		{Time: at, Actor: "U0ALICE", Action: "delete web2.default.acme", Ticket: "tk1", Outcome: "approve"},
		{Time: at, Actor: "U0ASK", Action: "delete web2", Outcome: "asked", Detail: "job askjob1 server 1002"},
		{Time: at, Actor: "U0ASK", Action: "delete web2.default.acme", Ticket: "tk1", Outcome: "requested"},
		{Time: at, Actor: "U0ASK", Action: "start web1", Outcome: "done", Detail: "job startjob server 1001"},
		{Time: at, Actor: "U0ASK", Action: "start web1", Outcome: "started", Detail: "job startjob server 1001"},
	}
	got := auditText(es, 57)
	for _, want := range []string{"8 of 57 entries", "job `runjob1`", "job `startjob`", "approved by <@U0ALICE>"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit text lacks %q:\n%s", want, got)
		}
	}
	for _, job := range []string{"runjob1", "startjob"} {
		if n := strings.Count(got, job); n != 1 {
			t.Errorf("job %s shown %d times; want once per action:\n%s", job, n, got)
		}
	}
	if strings.Contains(got, "askjob1") || strings.Contains(got, "by U0ALICE") {
		t.Errorf("audit text shows a second job ID for one action, or a raw user ID:\n%s", got)
	}
	if all := auditText(es[:2], 2); strings.Contains(all, " of ") {
		t.Errorf("audit text of the whole log says it was cut:\n%s", all)
	}
}
