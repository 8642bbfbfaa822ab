package approvals

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestHolds: a hold is taken once it is due, by one of several replicas
// asking at once; a waiting hold can be cancelled and a taken one not; a
// taker that never calls DoneHold loses it when its lease ends, and the
// next take says it is a second attempt; DoneHold forgets it.
func TestHolds(t *testing.T) {
	clk := newClock()
	prefix := testPrefix(t)
	s1 := mustOpen(t, testClient(t), prefix, Options{Now: clk.Now})
	s2 := mustOpen(t, testClient(t), prefix, Options{Now: clk.Now})
	ctx := context.Background()
	at := clk.Now().Add(time.Minute)
	for _, k := range []string{"a", "b", "c"} {
		if ok, err := s1.Hold(ctx, k, "payload "+k, at); !ok || err != nil {
			t.Fatalf("Hold(%s) = %v, %v", k, ok, err)
		}
	}
	if ok, err := s2.Hold(ctx, "a", "other", at); ok || err != nil {
		t.Errorf("second Hold(a) = %v, %v; want false", ok, err)
	}
	if hs, err := s1.TakeDueHolds(ctx, time.Minute, 10); len(hs) != 0 || err != nil {
		t.Errorf("TakeDueHolds before due = %v, %v; want none", hs, err)
	}
	if ok, err := s2.CancelHold(ctx, "c"); !ok || err != nil {
		t.Errorf("CancelHold(c) = %v, %v; want true", ok, err)
	}
	if ok, err := s2.CancelHold(ctx, "c"); ok || err != nil {
		t.Errorf("second CancelHold(c) = %v, %v; want false", ok, err)
	}

	clk.Add(time.Minute)
	var mu sync.Mutex
	taken := map[string][]Held{}
	var wg sync.WaitGroup
	for _, s := range []*Store{s1, s2, s1, s2} {
		wg.Go(func() {
			hs, err := s.TakeDueHolds(ctx, time.Minute, 10)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, h := range hs {
				taken[h.Key] = append(taken[h.Key], h)
			}
		})
	}
	wg.Wait()
	if len(taken) != 2 || len(taken["a"]) != 1 || len(taken["b"]) != 1 {
		t.Fatalf("taken = %v; want a and b, once each", taken)
	}
	if h := taken["a"][0]; h.Payload != "payload a" || h.Attempt != 1 {
		t.Errorf("taken a = %+v; want its payload, attempt 1", h)
	}
	if ok, err := s1.CancelHold(ctx, "a"); ok || err != nil {
		t.Errorf("CancelHold of a taken hold = %v, %v; want false", ok, err)
	}
	if ok, _ := s1.Hold(ctx, "a", "again", clk.Now()); ok {
		t.Error("Hold of a taken key = true; want false until it is done")
	}
	if err := s1.DoneHold(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// b's taker died: its lease ends, and b is taken again, once.
	if hs, _ := s2.TakeDueHolds(ctx, time.Minute, 10); len(hs) != 0 {
		t.Errorf("TakeDueHolds inside the lease = %v; want none", hs)
	}
	clk.Add(time.Minute)
	hs, err := s2.TakeDueHolds(ctx, time.Minute, 10)
	if err != nil || len(hs) != 1 || hs[0].Key != "b" || hs[0].Attempt != 2 || hs[0].Payload != "payload b" {
		t.Fatalf("TakeDueHolds after the lease = %+v, %v; want b, attempt 2", hs, err)
	}
	if err := s2.DoneHold(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if hs, _ := s1.TakeDueHolds(ctx, time.Minute, 10); len(hs) != 0 {
		t.Errorf("TakeDueHolds after DoneHold = %v; want none", hs)
	}
	// A done key may be held again, as new.
	if ok, err := s1.Hold(ctx, "a", "new", clk.Now()); !ok || err != nil {
		t.Fatalf("Hold(a) after DoneHold = %v, %v", ok, err)
	}
	if hs, _ := s1.TakeDueHolds(ctx, time.Minute, 1); len(hs) != 1 || hs[0].Attempt != 1 || hs[0].Payload != "new" {
		t.Errorf("TakeDueHolds = %+v; want a, attempt 1, new payload", hs)
	}
}
