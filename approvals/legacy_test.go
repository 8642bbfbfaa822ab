package approvals

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestMoveLegacyKeys upgrades a Redis that a bytebot before the hash tag
// used: its pending ticket, queued job, cooldown and audit log are there
// after MoveLegacyKeys, under the new names; another bot's keys under a
// longer prefix are left alone; a second run only checks the marker.
func TestMoveLegacyKeys(t *testing.T) {
	rdb := testClient(t)
	prefix := testPrefix(t)
	ctx := context.Background()
	clk := newClock()

	// The old layout: what a Store wrote, renamed back to prefix+name.
	old := mustOpen(t, rdb, prefix, Options{Now: clk.Now})
	tk := submit(t, old, 2)
	if _, err := old.Vote(ctx, tk.ID, appr1, true, approvers); err != nil {
		t.Fatal(err)
	}
	jobID, err := old.Enqueue(ctx, Job{Command: "reset web1", RequestedBy: asker})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := old.Cooldown(ctx, "web1", time.Hour); err != nil || !ok {
		t.Fatalf("Cooldown = %v, %v", ok, err)
	}
	iter := rdb.Scan(ctx, 0, globEscape(old.prefix)+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	for _, k := range keys {
		if err := rdb.Rename(ctx, k, prefix+strings.TrimPrefix(k, old.prefix)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	foreign := prefix + "other:ticket:abc" // a bot with prefix+"other:"
	if err := rdb.Set(ctx, foreign, "x", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}

	// Load first (the work queue is made empty under its new name): the
	// move copes.
	s := mustOpen(t, rdb, prefix, Options{Now: clk.Now})
	if _, err := s.Get(ctx, tk.ID); err == nil {
		t.Fatal("the old ticket is visible before the move; the test set-up is wrong")
	}
	n, err := s.MoveLegacyKeys(ctx)
	if err != nil || n != len(keys) {
		t.Fatalf("MoveLegacyKeys = %d, %v; want %d keys moved (%q)", n, err, len(keys), keys)
	}
	got, err := s.Get(ctx, tk.ID)
	if err != nil || got.State != StatePending || len(got.Approvers) != 1 {
		t.Fatalf("ticket after the move = %+v, %v; want pending with one approval", got, err)
	}
	res, err := s.Vote(ctx, tk.ID, appr2, true, approvers)
	if err != nil || !res.Decided {
		t.Fatalf("second approval after the move = %+v, %v", res, err)
	}
	var claimed []string
	for range 2 {
		j, err := s.Claim(ctx, "w1", 0)
		if err != nil || j == nil {
			t.Fatalf("Claim = %+v, %v", j, err)
		}
		claimed = append(claimed, j.ID)
	}
	if claimed[0] != jobID || claimed[1] != res.JobID {
		t.Errorf("claimed %v; want the old queued job %s, then the approval's %s", claimed, jobID, res.JobID)
	}
	if ok, _, err := s.Cooldown(ctx, "web1", time.Hour); err != nil || ok {
		t.Errorf("Cooldown after the move = %v, %v; want still running", ok, err)
	}
	es, err := s.AuditLog(ctx, "", 100)
	if err != nil || len(es) < 3 {
		t.Errorf("audit after the move = %d entries, %v; want the old ones", len(es), err)
	}
	if v, _ := rdb.Get(ctx, foreign).Result(); v != "x" {
		t.Errorf("another bot's key was moved")
	}
	if n, err := s.MoveLegacyKeys(ctx); n != 0 || err != nil {
		t.Errorf("second MoveLegacyKeys = %d, %v; want nothing to do", n, err)
	}
}
