package approvals

import (
	"context"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/redistest"
)

// TestThreads: the thread recorded for an alert occurrence is found again;
// an occurrence never recorded has none.
func TestThreads(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, redistest.Client(t), redistest.Prefix(t), Options{})
	if err := s.SetThreads(ctx, map[string]string{"alertmanager:a1": "1700000000.000002", "grafana:g1": "1700000000.000003"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for occ, want := range map[string]string{"alertmanager:a1": "1700000000.000002", "grafana:g1": "1700000000.000003", "alertmanager:other": ""} {
		got, err := s.Thread(ctx, occ)
		if err != nil || got != want {
			t.Errorf("Thread(%q) = %q, %v; want %q", occ, got, err, want)
		}
	}
	if err := s.SetThreads(ctx, map[string]string{"x": "1"}, 0); err == nil {
		t.Error("SetThreads with no ttl succeeded; want an error")
	}
}
