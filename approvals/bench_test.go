package approvals

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/redistest"
)

// benchStore returns a loaded store and a command counter on its client.
func benchStore(b *testing.B) (*Store, *countHook) {
	b.Helper()
	rdb := redistest.Client(b)
	s := mustOpen(b, rdb, redistest.Prefix(b), Options{})
	h := &countHook{}
	rdb.AddHook(h)
	return s, h
}

var benchRequest = Request{Command: "purge web1.default.acme", RequestedBy: asker, Channel: "COPS",
	Snapshot: "web1 on; discs root 25600 sata, data 102400 archive", Server: "web1.default.acme",
	Required: 1, TTL: time.Hour, Meta: map[string]string{"req": "r1", "power": "on"}}

// report adds ops/s and, from h, Redis commands per op.
func report(b *testing.B, h *countHook) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if h != nil {
		b.ReportMetric(float64(h.n.Load())/float64(b.N), "cmds/op")
	}
}

// BenchmarkVote measures deciding votes (each approves a ticket and
// queues its job): one EVALSHA, one round trip, each.
func BenchmarkVote(b *testing.B) {
	s, h := benchStore(b)
	ctx := context.Background()
	ids := make([]string, b.N)
	var wg sync.WaitGroup
	const workers = 32
	for w := range workers {
		wg.Go(func() {
			for i := w; i < b.N; i += workers {
				t, err := s.Submit(ctx, benchRequest)
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = t.ID
			}
		})
	}
	wg.Wait()
	h.n.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		res, err := s.Vote(ctx, ids[i], appr1, true, approvers)
		if err != nil || !res.Decided {
			b.Fatalf("Vote = %+v, %v", res, err)
		}
	}
	b.StopTimer()
	report(b, h)
}

// BenchmarkSubmitAndVote measures a ticket's life: submit, then the
// approval that queues its job.
func BenchmarkSubmitAndVote(b *testing.B) {
	s, h := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t, err := s.Submit(ctx, benchRequest)
		if err != nil {
			b.Fatal(err)
		}
		if res, err := s.Vote(ctx, t.ID, appr1, true, approvers); err != nil || !res.Decided {
			b.Fatalf("Vote = %+v, %v", res, err)
		}
	}
	b.StopTimer()
	report(b, h)
}

// BenchmarkParallelSubmitVote is BenchmarkSubmitAndVote from
// GOMAXPROCS goroutines sharing one client, as replicas' handlers would.
func BenchmarkParallelSubmitVote(b *testing.B) {
	s, h := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t, err := s.Submit(ctx, benchRequest)
			if err != nil {
				b.Error(err)
				return
			}
			if res, err := s.Vote(ctx, t.ID, appr1, true, approvers); err != nil || !res.Decided {
				b.Errorf("Vote = %+v, %v", res, err)
				return
			}
		}
	})
	b.StopTimer()
	report(b, h)
}

// BenchmarkPing is the baseline: one PING, the cheapest round trip to the
// same Redis through the same client.
func BenchmarkPing(b *testing.B) {
	s, h := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	report(b, h)
}
