package approvals

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReadJob measures a person's read's life in the store (issue
// 20): run where it was asked (StartHere, Finish: two round trips) and,
// for comparison, through the queue (EnqueueOnce, Claim, Finish: three).
func BenchmarkReadJob(b *testing.B) {
	ctx := context.Background()
	b.Run("here", func(b *testing.B) {
		s, h := benchStore(b)
		i := 0
		for b.Loop() {
			i++
			j := Job{ID: fmt.Sprintf("here%d", i), Command: "show web1", RequestedBy: asker, Channel: "COPS", Server: "web1"}
			if ok, err := s.StartHere(ctx, &j); err != nil || !ok {
				b.Fatalf("StartHere = %v, %v", ok, err)
			}
			if err := s.Finish(ctx, &j, "done", false); err != nil {
				b.Fatal(err)
			}
		}
		report(b, h)
	})
	b.Run("queued", func(b *testing.B) {
		s, h := benchStore(b)
		if _, err := s.Claim(ctx, "w1", 0); err != nil { // creates the group
			b.Fatal(err)
		}
		h.n.Store(0)
		i := 0
		for b.Loop() {
			i++
			j := Job{ID: fmt.Sprintf("queued%d", i), Command: "show web1", RequestedBy: asker, Channel: "COPS", Server: "web1"}
			if _, err := s.EnqueueOnce(ctx, j, "", 0); err != nil {
				b.Fatal(err)
			}
			got, err := s.Claim(ctx, "w1", time.Second)
			if err != nil || got == nil {
				b.Fatalf("Claim = %v, %v", got, err)
			}
			if err := s.Finish(ctx, got, "done", false); err != nil {
				b.Fatal(err)
			}
		}
		report(b, h)
	})
}
