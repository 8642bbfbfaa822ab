package approvals

import (
	"context"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/redistest"
)

// TestAuditDecisionsApart: webhook decisions have a stream of their own,
// so that a flood of them leaves what people did (written by the scripts)
// in the log; AuditLog reads both, newest first.
func TestAuditDecisionsApart(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, redistest.Client(t), redistest.Prefix(t), Options{Now: clk.Now, AuditMax: 100})
	ctx := context.Background()
	tk, err := s.Submit(ctx, Request{Command: "purge web2", RequestedBy: "U1", Channel: "C1", Server: "web2.default.acme", Required: 1})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if _, err := s.Cancel(ctx, tk.ID, "U1"); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		var es []Entry
		for range 100 {
			clk.Add(time.Millisecond)
			es = append(es, Entry{Actor: "alertmanager", Action: "reboot web1.default.acme", Server: "web1.default.acme", Outcome: "cooldown"})
		}
		if err := s.AuditDecisions(ctx, es...); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.rdb.XLen(ctx, s.key("audit")).Result(); n != 2 {
		t.Errorf("audit stream length = %d; want the ticket's 2 entries", n)
	}
	if n, _ := s.rdb.XLen(ctx, s.key("audit:webhooks")).Result(); n < 100 || n > 300 {
		t.Errorf("decisions stream length = %d; want about AuditMax (100)", n)
	}
	es, err := s.AuditLog(ctx, "web2", 10)
	if err != nil || len(es) != 2 || es[0].Outcome != "cancelled" || es[1].Outcome != "requested" {
		t.Fatalf("AuditLog(web2) after 1000 decisions = %+v, %v; want cancelled, requested", es, err)
	}

	// Both streams, merged newest first.
	clk.Add(time.Second)
	if err := s.Audit(ctx, Entry{Actor: "U1", Action: "restart web3", Server: "web3.default.acme", Outcome: "done"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if err := s.AuditDecisions(ctx, Entry{Actor: "grafana", Action: "reboot web3.default.acme", Server: "web3.default.acme", Outcome: "rebooting"}); err != nil {
		t.Fatal(err)
	}
	es, err = s.AuditLog(ctx, "", 4)
	if err != nil || len(es) != 4 {
		t.Fatalf("AuditLog = %+v, %v", es, err)
	}
	got := []string{es[0].Actor, es[1].Actor, es[2].Actor, es[3].Actor}
	want := []string{"grafana", "U1", "alertmanager", "alertmanager"}
	if got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("AuditLog newest first = %v; want %v", got, want)
	}
	es, _ = s.AuditLog(ctx, "web3", 10)
	if len(es) != 2 || es[0].Outcome != "rebooting" || es[1].Outcome != "done" {
		t.Errorf("AuditLog(web3) = %+v; want the decision, then the restart", es)
	}
}

func TestCompareIDs(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0}, {"1-1", "1-0", 1}, {"9-0", "10-0", -1}, {"10-2", "10-10", -1}, {"1700000000001-0", "1700000000000-5", 1},
	} {
		if got := compareIDs(tt.a, tt.b); got != tt.want {
			t.Errorf("compareIDs(%s, %s) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
