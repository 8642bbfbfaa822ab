package approvals

import (
	"context"
	"testing"
)

// TestStartHere: a job run where it was asked starts once by its ID (the
// same request again, on any replica, is refused), and Finish records its
// outcome and its audit entry as for a queued job.
func TestStartHere(t *testing.T) {
	prefix := testPrefix(t)
	s1 := mustOpen(t, testClient(t), prefix, Options{})
	s2 := mustOpen(t, testClient(t), prefix, Options{})
	ctx := context.Background()
	job := Job{ID: "read0001", Command: "show web1", RequestedBy: "UASKER", Channel: "COPS", Server: "web1.default.acme"}
	if ok, err := s1.StartHere(ctx, &job); !ok || err != nil {
		t.Fatalf("StartHere = %v, %v; want it started", ok, err)
	}
	again := job
	if ok, err := s2.StartHere(ctx, &again); ok || err != nil {
		t.Errorf("StartHere of the same ID on another replica = %v, %v; want false", ok, err)
	}
	if err := s1.Finish(ctx, &job, "done", false); err != nil {
		t.Fatal(err)
	}
	if ok, err := s2.StartHere(ctx, &again); ok || err != nil {
		t.Errorf("StartHere after it finished = %v, %v; want false", ok, err)
	}
	es, err := s2.AuditLog(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == "show web1" && e.Outcome == "done" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d audit entries of the read done; want 1: %+v", n, es)
	}
}
