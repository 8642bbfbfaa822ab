package approvals

import (
	"context"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/redistest"
)

// TestAuditLogTotal: the audit answer can say when it was cut ("20 of 57
// entries"): the total counts both streams, and only the server's entries
// when one is asked for.
func TestAuditLogTotal(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, redistest.Client(t), redistest.Prefix(t), Options{Now: clk.Now})
	ctx := context.Background()
	for i := range 30 {
		clk.Add(time.Millisecond)
		server := "web1.default.acme"
		if i%3 == 0 {
			server = "web2.default.acme"
		}
		if err := s.Audit(ctx, Entry{Actor: "U1", Action: "restart " + server, Server: server, Outcome: "done"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 7 {
		clk.Add(time.Millisecond)
		if err := s.AuditDecisions(ctx, Entry{Actor: "alertmanager", Action: "reboot web2.default.acme", Server: "web2.default.acme", Outcome: "cooldown"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		server          string
		n, want, wantTo int
	}{
		{"", 20, 20, 37},
		{"web2", 5, 5, 17},
		{"web1.default.acme", 50, 20, 20},
		{"web9", 20, 0, 0},
	} {
		es, total, err := s.AuditLogTotal(ctx, tt.server, tt.n)
		if err != nil || len(es) != tt.want || total != tt.wantTo {
			t.Errorf("AuditLogTotal(%q, %d) = %d entries of %d, %v; want %d of %d", tt.server, tt.n, len(es), total, err, tt.want, tt.wantTo)
		}
	}
}
