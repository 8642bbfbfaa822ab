package approvals

import (
	"context"
	"slices"
	"testing"
)

// TestTicketKeepsItsRule: a ticket records who may approve it and the rule
// that asked, so that a vote on any replica checks the same people; a
// ticket written before these fields has Eligible nil.
func TestTicketKeepsItsRule(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	tk, err := s.Submit(ctx, Request{Command: "purge web1.default.acme", RequestedBy: asker, Channel: "COPS",
		Required: 2, Eligible: []string{"U0ALICE", "S0OPS"}, Rule: "rule 1 (line 8): 2 approvals from ops"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Eligible, []string{"U0ALICE", "S0OPS"}) || got.Rule != "rule 1 (line 8): 2 approvals from ops" {
		t.Errorf("Get = eligible %v, rule %q; want what was submitted", got.Eligible, got.Rule)
	}
	if err := s.rdb.HDel(ctx, s.ticketKey(tk.ID), "eligible", "rule").Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, tk.ID); got.Eligible != nil || got.Rule != "" {
		t.Errorf("an older ticket = eligible %#v, rule %q; want nil and empty", got.Eligible, got.Rule)
	}
}
