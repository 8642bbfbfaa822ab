package approvals

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// approved returns a ticket approved by appr1, its job claimed and
// finished, as the executor leaves it before it stages the purge.
func approved(t *testing.T, s *Store) Ticket {
	t.Helper()
	ctx := context.Background()
	tk := submit(t, s, 1)
	if _, err := s.Vote(ctx, tk.ID, appr1, true, approvers); err != nil {
		t.Fatal(err)
	}
	job, err := s.Claim(ctx, "w1", 0)
	if err != nil || job == nil {
		t.Fatalf("Claim = %+v, %v", job, err)
	}
	if err := s.Finish(ctx, job, "staged", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMessage(ctx, tk.ID, "C1", "111.222"); err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestStagedPurge: a staged purge is audited with its due time, falls due
// once (however many sweep), is queued as a job in the card's thread, and
// goes staged -> purging -> purged; an Undo after it began is too late.
func TestStagedPurge(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	tk := approved(t, s)
	if _, _, err := s.StagePurge(ctx, "nosuch0000", clk.Now(), ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("StagePurge(unknown) = %v; want ErrNotFound", err)
	}
	pending := submit(t, s, 1)
	if _, _, err := s.StagePurge(ctx, pending.ID, clk.Now(), ""); !errors.Is(err, ErrNotApproved) {
		t.Errorf("StagePurge(pending) = %v; want ErrNotApproved", err)
	}
	due := clk.Now().Add(30 * time.Minute)
	got, created, err := s.StagePurge(ctx, tk.ID, due, "purge due at 12:30")
	if err != nil || !created || got.Purge.State != PurgeStaged || !got.Purge.At.Equal(due) {
		t.Fatalf("StagePurge = %+v, %v, %v; want staged at %v", got.Purge, created, err, due)
	}
	if again, created, err := s.StagePurge(ctx, tk.ID, due.Add(time.Hour), "x"); err != nil || created || !again.Purge.At.Equal(due) {
		t.Errorf("StagePurge again = %+v, %v, %v; want the first staging, not created", again.Purge, created, err)
	}
	if n, err := s.PurgesDue(ctx); err != nil || n != 0 {
		t.Errorf("PurgesDue before the deadline = %d, %v; want 0", n, err)
	}
	clk.Add(30 * time.Minute)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Go(func() {
			n, err := s.PurgesDue(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1 {
		t.Fatalf("PurgesDue by 8 sweepers = %d; want 1", total)
	}
	job, err := s.Claim(ctx, "w2", 0)
	if err != nil || job == nil {
		t.Fatalf("Claim = %+v, %v", job, err)
	}
	if job.ID != PurgeJobID(tk.ID) || job.Origin != OriginStaged || job.TicketID != tk.ID || job.Command != "purge web1.default.acme" ||
		job.ThreadTS != "111.222" || job.RequestedBy != asker {
		t.Errorf("due job = %+v; want the ticket's purge, in its card's thread", job)
	}
	if _, err := s.BeginPurge(ctx, tk.ID); err != nil {
		t.Fatalf("BeginPurge = %v", err)
	}
	if _, err := s.BeginPurge(ctx, tk.ID); !errors.Is(err, ErrTooLate) {
		t.Errorf("BeginPurge twice = %v; want ErrTooLate", err)
	}
	if u, err := s.UndoPurge(ctx, tk.ID, appr1); !errors.Is(err, ErrTooLate) || u.Purge.State != PurgePurging {
		t.Errorf("UndoPurge while purging = %+v, %v; want ErrTooLate", u.Purge, err)
	}
	end, err := s.EndPurge(ctx, tk.ID, PurgePurged, "")
	if err != nil || end.Purge.State != PurgePurged || !end.Purge.EndedAt.Equal(clk.Now()) {
		t.Errorf("EndPurge = %+v, %v; want purged now", end.Purge, err)
	}
	if _, err := s.UndoPurge(ctx, tk.ID, appr1); !errors.Is(err, ErrTooLate) {
		t.Errorf("UndoPurge after the purge = %v; want ErrTooLate", err)
	}
	es, err := s.AuditLog(ctx, "", 20)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range es {
		if e.Outcome == "staged" && e.Ticket == tk.ID && e.Detail == "purge due at 12:30" && e.Actor == asker {
			found = true
		}
	}
	if !found {
		t.Errorf("audit = %+v; want a staged entry with the due time", es)
	}
}

// TestUndoPurgeOnce: two Undos pressed at once: exactly one wins, the
// other learns who; the purge no longer falls due.
func TestUndoPurgeOnce(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	tk := approved(t, s)
	if _, err := s.UndoPurge(ctx, tk.ID, appr1); !errors.Is(err, ErrNotStaged) {
		t.Errorf("UndoPurge before staging = %v; want ErrNotStaged", err)
	}
	if _, _, err := s.StagePurge(ctx, tk.ID, clk.Now().Add(time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	res := make([]Ticket, 10)
	for i := range 10 {
		by := appr1
		if i%2 == 1 {
			by = asker
		}
		wg.Go(func() { res[i], errs[i] = s.UndoPurge(ctx, tk.ID, by) })
	}
	wg.Wait()
	wins, winner := 0, ""
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			winner = res[i].Purge.By
		case !errors.Is(err, ErrUndone):
			t.Errorf("Undo %d = %v; want nil or ErrUndone", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("Undos that won = %d; want 1", wins)
	}
	for i, err := range errs {
		if err != nil && res[i].Purge.By != winner {
			t.Errorf("Undo %d was told %q undid it; want %q", i, res[i].Purge.By, winner)
		}
	}
	clk.Add(time.Hour)
	if n, err := s.PurgesDue(ctx); err != nil || n != 0 {
		t.Errorf("PurgesDue after Undo = %d, %v; want 0", n, err)
	}
	if _, err := s.BeginPurge(ctx, tk.ID); !errors.Is(err, ErrUndone) {
		t.Errorf("BeginPurge after Undo = %v; want ErrUndone", err)
	}
	if _, err := s.EndPurge(ctx, tk.ID, PurgeKept, "x"); !errors.Is(err, ErrNotStaged) {
		t.Errorf("EndPurge after Undo = %v; want ErrNotStaged", err)
	}
	es, _ := s.AuditLog(ctx, "", 50)
	n := 0
	for _, e := range es {
		if e.Outcome == "undone" && e.Actor == winner && e.Ticket == tk.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("undone audit entries by %s = %d; want 1", winner, n)
	}
}

// TestUndelete: a soft delete's Undelete is pressed once.
func TestUndelete(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	id, err := s.OpenUndelete(ctx, Undelete{Command: "delete web1", Server: "web1.default.acme", ServerID: 1001,
		Hostname: "web1.default.acme.uk0.bigv.io", RequestedBy: asker, Approvers: []string{appr1}, Channel: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetUndeleteMessage(ctx, id, "C1", "1.2"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUndeleteMessage(ctx, "nosuch0000", "C1", "1.2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetUndeleteMessage(unknown) = %v; want ErrNotFound", err)
	}
	u, err := s.GetUndelete(ctx, id)
	if err != nil || u.ServerID != 1001 || u.MessageTS != "1.2" || u.State != "deleted" || len(u.Approvers) != 1 {
		t.Fatalf("GetUndelete = %+v, %v", u, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for _, by := range []string{asker, appr1, asker, appr1} {
		wg.Go(func() {
			_, err := s.PressUndelete(ctx, id, by)
			if err != nil && !errors.Is(err, ErrUndone) {
				t.Error(err)
			}
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("Undelete presses that won = %d; want 1", wins)
	}
	if _, err := s.PressUndelete(ctx, "nosuch0000", asker); !errors.Is(err, ErrNotFound) {
		t.Errorf("PressUndelete(unknown) = %v; want ErrNotFound", err)
	}
}
