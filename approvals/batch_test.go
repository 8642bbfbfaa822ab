package approvals

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestLockEach(t *testing.T) {
	rdb := testClient(t)
	s := mustOpen(t, rdb, testPrefix(t), Options{})
	ctx := context.Background()
	held, err := s.Lock(ctx, "b", time.Minute)
	if err != nil || held == "" {
		t.Fatalf("Lock = %q, %v", held, err)
	}
	h := &countHook{names: true}
	rdb.AddHook(h)
	tokens, err := s.LockEach(ctx, []string{"a", "b", "c", "a"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 4 || tokens[0] == "" || tokens[1] != "" || tokens[2] == "" || tokens[3] != "" {
		t.Fatalf("tokens = %q; want a and c taken, b (held) and the second a refused", tokens)
	}
	if !slices.ContainsFunc(h.pipelines, func(p []string) bool { return slices.Equal(p, []string{"set", "set", "set", "set"}) }) {
		t.Errorf("pipelines sent %v; want one of four SETs", h.pipelines)
	}
	// The tokens are the locks' own: Unlock with them frees the keys.
	if err := s.Unlock(ctx, "a", tokens[0]); err != nil {
		t.Fatal(err)
	}
	if again, err := s.LockEach(ctx, []string{"a", "c"}, time.Minute); err != nil || again[0] == "" || again[1] != "" {
		t.Errorf("after unlocking a: LockEach = %q, %v; want a free, c held", again, err)
	}
	if _, err := s.LockEach(ctx, []string{"x"}, 0); err == nil {
		t.Error("LockEach with no TTL succeeded")
	}
}

func TestCooldownEach(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	if ok, _, err := s.Cooldown(ctx, "web2", 15*time.Minute); err != nil || !ok {
		t.Fatalf("Cooldown = %v, %v", ok, err)
	}
	clk.Add(5 * time.Minute)
	got, err := s.CooldownEach(ctx, []string{"web1", "web2", "web1"}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []CooldownResult{{OK: true}, {Remaining: 10 * time.Minute}, {Remaining: 15 * time.Minute}}
	if !slices.Equal(got, want) {
		t.Errorf("CooldownEach = %+v; want %+v", got, want)
	}
	// Redis lost its scripts (a restart): they are loaded again.
	if err := s.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	clk.Add(15 * time.Minute)
	if got, err := s.CooldownEach(ctx, []string{"web1", "web3"}, time.Minute); err != nil || !got[0].OK || !got[1].OK {
		t.Errorf("after SCRIPT FLUSH: CooldownEach = %+v, %v; want both started", got, err)
	}
}

func TestAuditEach(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	var es []Entry
	for _, o := range []string{"one", "two", "three"} {
		es = append(es, Entry{Actor: "alertmanager", Action: "reboot web1", Server: "web1", Outcome: o})
	}
	if err := s.AuditEach(ctx, es...); err != nil {
		t.Fatal(err)
	}
	log, err := s.AuditLog(ctx, "web1", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Outcome)
		if !e.Time.Equal(clk.Now().Truncate(time.Millisecond)) {
			t.Errorf("entry time %v; want the store's clock %v", e.Time, clk.Now())
		}
	}
	if want := []string{"three", "two", "one"}; !slices.Equal(got, want) {
		t.Errorf("audit log (newest first) = %v; want %v", got, want)
	}
}
