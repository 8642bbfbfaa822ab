package approvals

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
)

// MustOpenStore returns a Store on the test Redis ($REDIS_URL, else
// 127.0.0.1:6379, else a redis-server started for the tests) under a
// prefix of its own, whose keys are deleted when the test ends. Without a
// Redis the test fails; it never skips.
func MustOpenStore(tb testing.TB) *Store {
	tb.Helper()
	return mustOpen(tb, testClient(tb), testPrefix(tb), Options{})
}

// mustOpen returns a loaded Store on rdb under prefix.
func mustOpen(tb testing.TB, rdb redis.UniversalClient, prefix string, opts Options) *Store {
	tb.Helper()
	opts.Prefix = prefix
	if opts.WaitReplicas == 0 {
		opts.WaitReplicas = waitReplicas() // as main sets it
	}
	s := New(rdb, opts)
	if err := s.Load(context.Background()); err != nil {
		tb.Fatalf("Load: %v (is Redis running? start it with `redis-server --port 6379` or set REDIS_URL)", err)
	}
	return s
}

// A clock is a test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openClocked returns a store with a test clock.
func openClocked(t *testing.T) (*Store, *clock) {
	t.Helper()
	clk := newClock()
	return mustOpen(t, testClient(t), testPrefix(t), Options{Now: clk.Now}), clk
}

const (
	asker = "UASKER"
	appr1 = "UAPPR1"
	appr2 = "UAPPR2"
	other = "UOTHER"
)

var approvers = []string{asker, appr1, appr2}

func submit(t *testing.T, s *Store, required int) Ticket {
	t.Helper()
	tk, err := s.Submit(context.Background(), Request{
		Command: "purge web1.default.acme", RequestedBy: asker, Channel: "COPS", Snapshot: "snap-1",
		Server: "web1.default.acme", Required: required, TTL: 15 * time.Minute, Meta: map[string]string{"req": "r1"},
	})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return tk
}

// queued returns the number of entries in the work queue.
func queued(t *testing.T, s *Store) int64 {
	t.Helper()
	n, err := s.rdb.XLen(context.Background(), s.key("queue")).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// outcomes returns the outcomes in the audit log of ticket id, oldest first.
func outcomes(t *testing.T, s *Store, id string) []string {
	t.Helper()
	es, err := s.AuditLog(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(es) {
		if e.Ticket == id {
			out = append(out, e.Actor+":"+e.Outcome)
		}
	}
	return out
}

func TestSubmitGet(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	tk := submit(t, s, 2)
	if !regexp.MustCompile(`^[a-z2-7]{10}$`).MatchString(tk.ID) {
		t.Errorf("ID = %q; want 10 lowercase base32 characters", tk.ID)
	}
	got, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := Ticket{
		ID: tk.ID, Command: "purge web1.default.acme", RequestedBy: asker, Channel: "COPS", Snapshot: "snap-1",
		Server: "web1.default.acme", Required: 2, State: StatePending, Approvers: []string{},
		CreatedAt: clk.Now(), ExpiresAt: clk.Now().Add(15 * time.Minute), Meta: map[string]string{"req": "r1"},
		Eligible: []string{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, tk); diff != "" {
		t.Errorf("Submit mismatch (-want +got):\n%s", diff)
	}
	if got, err := s.Get(ctx, " "+tk.ID+" "); err != nil || got.ID != tk.ID {
		t.Errorf("Get with spaces = %v, %v; want the ticket", got.ID, err)
	}
	if _, err := s.Get(ctx, "nosuchtick"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown) error = %v; want ErrNotFound", err)
	}
	if err := s.SetMessage(ctx, tk.ID, "CCARD", "123.456"); err != nil {
		t.Fatalf("SetMessage: %v", err)
	}
	if got, _ := s.Get(ctx, tk.ID); got.MessageChannel != "CCARD" || got.MessageTS != "123.456" {
		t.Errorf("after SetMessage: %q %q", got.MessageChannel, got.MessageTS)
	}
	if err := s.SetMessage(ctx, "nosuchtick", "C", "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetMessage(unknown) = %v; want ErrNotFound", err)
	}
	if n, _ := s.rdb.Exists(ctx, s.ticketKey("nosuchtick")).Result(); n != 0 {
		t.Errorf("SetMessage created a ticket key")
	}
	if ttl, _ := s.rdb.PTTL(ctx, s.ticketKey(tk.ID)).Result(); ttl < TicketRetention || ttl > TicketRetention+time.Hour {
		t.Errorf("ticket TTL = %v; want its expiry plus %v", ttl, TicketRetention)
	}
	if got := outcomes(t, s, tk.ID); !slices.Equal(got, []string{asker + ":requested"}) {
		t.Errorf("audit = %v", got)
	}
	if _, err := s.Submit(ctx, Request{RequestedBy: asker}); err == nil {
		t.Error("Submit without a command succeeded")
	}
}

func TestSelfApprovalRefused(t *testing.T) {
	s := MustOpenStore(t)
	tk := submit(t, s, 1)
	for _, approve := range []bool{true, false} {
		res, err := s.Vote(context.Background(), tk.ID, asker, approve, approvers)
		if !errors.Is(err, ErrSelfApproval) {
			t.Errorf("requester's vote (approve=%v) error = %v; want ErrSelfApproval", approve, err)
		}
		if res.Ticket.State != StatePending {
			t.Errorf("ticket state = %q; want pending", res.Ticket.State)
		}
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("jobs queued = %d; want 0", n)
	}
}

func TestNonApproverRefused(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	tk := submit(t, s, 1)
	if _, err := s.Vote(ctx, tk.ID, other, true, approvers); !errors.Is(err, ErrNotApprover) {
		t.Errorf("non-approver's vote error = %v; want ErrNotApprover", err)
	}
	if _, err := s.Vote(ctx, tk.ID, other, false, approvers); !errors.Is(err, ErrNotApprover) {
		t.Errorf("non-approver's deny error = %v; want ErrNotApprover", err)
	}
	if _, err := s.Vote(ctx, tk.ID, appr1, true, nil); !errors.Is(err, ErrNotApprover) {
		t.Errorf("vote with no approvers error = %v; want ErrNotApprover", err)
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("jobs queued = %d; want 0", n)
	}
	if _, err := s.Vote(ctx, "nosuchtick", appr1, true, approvers); !errors.Is(err, ErrNotFound) {
		t.Errorf("vote on unknown ticket error = %v; want ErrNotFound", err)
	}
}

func TestQuorumOfTwoNeedsTwoPeople(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	tk := submit(t, s, 2)
	if err := s.SetMessage(ctx, tk.ID, "CCARD", "111.222"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Vote(ctx, tk.ID, appr1, true, approvers)
	if err != nil || !res.Counted || res.Decided || res.Ticket.State != StatePending {
		t.Fatalf("first approval = %+v, %v; want counted, pending", res, err)
	}
	res, err = s.Vote(ctx, tk.ID, appr1, true, approvers)
	if err != nil || res.Counted || res.Decided || res.Ticket.State != StatePending {
		t.Fatalf("same approver again = %+v, %v; want not counted, pending", res, err)
	}
	if n := queued(t, s); n != 0 {
		t.Fatalf("jobs queued after one person's two votes = %d; want 0", n)
	}
	res, err = s.Vote(ctx, tk.ID, appr2, true, approvers)
	if err != nil || !res.Counted || !res.Decided || res.Ticket.State != StateApproved || res.JobID == "" {
		t.Fatalf("second approver = %+v, %v; want approved with a job", res, err)
	}
	if !slices.Equal(res.Ticket.Approvers, []string{appr1, appr2}) || res.Ticket.JobID != res.JobID {
		t.Errorf("ticket = %+v", res.Ticket)
	}
	if _, err := s.Vote(ctx, tk.ID, other, true, append(approvers, other)); !errors.Is(err, ErrDecided) {
		t.Errorf("vote after approval error = %v; want ErrDecided", err)
	}
	if n := queued(t, s); n != 1 {
		t.Fatalf("jobs queued = %d; want 1", n)
	}
	job, err := s.Claim(ctx, "w1", 0)
	if err != nil || job == nil {
		t.Fatalf("Claim = %v, %v", job, err)
	}
	want := &Job{ID: res.JobID, Command: tk.Command, RequestedBy: asker, Channel: "COPS", ThreadTS: "111.222",
		TicketID: tk.ID, Origin: "approval", Server: tk.Server, Meta: tk.Meta, Attempt: 1, State: JobQueued,
		EnqueuedAt: job.EnqueuedAt}
	if diff := cmp.Diff(want, job, cmpopts.IgnoreUnexported(Job{})); diff != "" {
		t.Errorf("job mismatch (-want +got):\n%s", diff)
	}
	if got, want := outcomes(t, s, tk.ID), []string{asker + ":requested", appr1 + ":approve", appr2 + ":approve", appr2 + ":approved"}; !slices.Equal(got, want) {
		t.Errorf("audit = %v; want %v", got, want)
	}
	if ps, _ := s.Pending(ctx); len(ps) != 0 {
		t.Errorf("Pending after approval = %v", ps)
	}
}

func TestDeniedNeverRuns(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	tk := submit(t, s, 2)
	if _, err := s.Vote(ctx, tk.ID, appr1, true, approvers); err != nil {
		t.Fatal(err)
	}
	res, err := s.Vote(ctx, tk.ID, appr2, false, approvers)
	if err != nil || !res.Decided || res.Ticket.State != StateDenied || res.Ticket.DeniedBy != appr2 || res.JobID != "" {
		t.Fatalf("deny = %+v, %v; want denied by %s", res, err, appr2)
	}
	for _, v := range []string{appr1, appr2} {
		if _, err := s.Vote(ctx, tk.ID, v, true, approvers); !errors.Is(err, ErrDecided) {
			t.Errorf("approve by %s after deny error = %v; want ErrDecided", v, err)
		}
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("jobs queued = %d; want 0", n)
	}
	if got := outcomes(t, s, tk.ID); !slices.Contains(got, appr2+":denied") || slices.Contains(got, appr2+":approved") {
		t.Errorf("audit = %v", got)
	}
}

func TestExpiredNeverRuns(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	tk := submit(t, s, 1)
	clk.Add(15 * time.Minute) // exactly at ExpiresAt: expired
	res, err := s.Vote(ctx, tk.ID, appr1, true, approvers)
	if !errors.Is(err, ErrExpired) || res.Ticket.State != StateExpired {
		t.Fatalf("vote after expiry = %+v, %v; want ErrExpired and an expired ticket", res, err)
	}
	if _, err := s.Vote(ctx, tk.ID, appr2, true, approvers); !errors.Is(err, ErrExpired) {
		t.Errorf("second vote after expiry error = %v; want ErrExpired", err)
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("jobs queued = %d; want 0", n)
	}
	// The vote marked it; the sweeper doesn't report it a second time.
	if ts, err := s.ExpireDue(ctx); err != nil || len(ts) != 0 {
		t.Errorf("ExpireDue = %v, %v; want nothing", ts, err)
	}
	if _, err := s.Cancel(ctx, tk.ID, asker); !errors.Is(err, ErrExpired) {
		t.Errorf("Cancel after expiry error = %v; want ErrExpired", err)
	}
	if got := outcomes(t, s, tk.ID); !slices.Equal(got, []string{asker + ":requested", asker + ":expired"}) {
		t.Errorf("audit = %v", got)
	}
}

func TestVoteInBoundToTicketChannel(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	tk := submit(t, s, 1) // asked in COPS
	// A click in another channel is refused before anything else, for
	// anyone, and changes nothing, not even an expiry that is due.
	for _, v := range []struct {
		voter   string
		approve bool
	}{{appr1, true}, {appr1, false}, {asker, true}, {other, true}} {
		res, err := s.VoteIn(ctx, tk.ID, "COTHER", v.voter, v.approve, approvers)
		if !errors.Is(err, ErrWrongChannel) || res.Counted || res.Decided {
			t.Errorf("vote by %s (approve=%v) from COTHER = %+v, %v; want ErrWrongChannel", v.voter, v.approve, res, err)
		}
	}
	clk.Add(15 * time.Minute)
	if _, err := s.VoteIn(ctx, tk.ID, "COTHER", appr1, true, approvers); !errors.Is(err, ErrWrongChannel) {
		t.Errorf("vote from COTHER after expiry error = %v; want ErrWrongChannel", err)
	}
	got, err := s.Get(ctx, tk.ID)
	if err != nil || got.State != StatePending || len(got.Approvers) != 0 || got.DeniedBy != "" {
		t.Fatalf("ticket after refused votes = %+v, %v; want pending with no votes", got, err)
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("jobs queued = %d; want 0", n)
	}
	if got := outcomes(t, s, tk.ID); !slices.Equal(got, []string{asker + ":requested"}) {
		t.Errorf("audit = %v", got)
	}
	clk.Add(-15 * time.Minute)
	if _, err := s.VoteIn(ctx, "nosuchtick", "COTHER", appr1, true, approvers); !errors.Is(err, ErrNotFound) {
		t.Errorf("vote on unknown ticket error = %v; want ErrNotFound", err)
	}
	// In the ticket's channel, the vote counts.
	res, err := s.VoteIn(ctx, tk.ID, "COPS", appr1, true, approvers)
	if err != nil || !res.Counted || !res.Decided || res.Ticket.State != StateApproved {
		t.Fatalf("vote from COPS = %+v, %v; want approved", res, err)
	}

	// An empty channel (Vote) checks nothing.
	tk2 := submit(t, s, 1)
	if res, err := s.VoteIn(ctx, tk2.ID, "", appr1, true, approvers); err != nil || !res.Decided {
		t.Errorf("vote with no channel = %+v, %v; want approved", res, err)
	}
	// A ticket with no channel takes no vote made in a channel.
	tk3, err := s.Submit(ctx, Request{Command: "purge web2", RequestedBy: asker, Server: "web2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VoteIn(ctx, tk3.ID, "COPS", appr1, true, approvers); !errors.Is(err, ErrWrongChannel) {
		t.Errorf("vote from COPS on a ticket with no channel error = %v; want ErrWrongChannel", err)
	}
}

func TestCancel(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	tk := submit(t, s, 1)
	if _, err := s.Cancel(ctx, tk.ID, appr1); !errors.Is(err, ErrNotRequester) {
		t.Errorf("Cancel by another error = %v; want ErrNotRequester", err)
	}
	got, err := s.Cancel(ctx, tk.ID, asker)
	if err != nil || got.State != StateCancelled || got.DecidedAt.IsZero() {
		t.Fatalf("Cancel = %+v, %v; want cancelled", got, err)
	}
	if _, err := s.Vote(ctx, tk.ID, appr1, true, approvers); !errors.Is(err, ErrDecided) {
		t.Errorf("vote after cancel error = %v; want ErrDecided", err)
	}
	if _, err := s.Cancel(ctx, tk.ID, asker); !errors.Is(err, ErrDecided) {
		t.Errorf("second Cancel error = %v; want ErrDecided", err)
	}
	if _, err := s.Cancel(ctx, "nosuchtick", asker); !errors.Is(err, ErrNotFound) {
		t.Errorf("Cancel(unknown) error = %v; want ErrNotFound", err)
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("jobs queued = %d; want 0", n)
	}
	if ps, _ := s.Pending(ctx); len(ps) != 0 {
		t.Errorf("Pending after cancel = %v", ps)
	}
	if got := outcomes(t, s, tk.ID); !slices.Equal(got, []string{asker + ":requested", asker + ":cancelled"}) {
		t.Errorf("audit = %v", got)
	}
}

func TestPendingAndExpireDue(t *testing.T) {
	clk := newClock()
	rdb1, rdb2, prefix := testClient(t), testClient(t), testPrefix(t)
	s1 := mustOpen(t, rdb1, prefix, Options{Now: clk.Now})
	s2 := mustOpen(t, rdb2, prefix, Options{Now: clk.Now})
	ctx := context.Background()
	var ids []string
	for _, ttl := range []time.Duration{3 * time.Minute, time.Minute, 2 * time.Minute, time.Hour} {
		tk, err := s1.Submit(ctx, Request{Command: "delete web1", RequestedBy: asker, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	ps, err := s1.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.ID)
	}
	if want := []string{ids[1], ids[2], ids[0], ids[3]}; !slices.Equal(got, want) {
		t.Errorf("Pending = %v; want %v (soonest expiry first)", got, want)
	}
	if ts, err := s1.ExpireDue(ctx); err != nil || len(ts) != 0 {
		t.Errorf("ExpireDue before expiry = %v, %v", ts, err)
	}
	clk.Add(3 * time.Minute)
	// Two replicas sweep at once: each ticket is reported exactly once.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []*Store{s1, s2, s1, s2} {
		wg.Go(func() {
			ts, err := s.ExpireDue(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, tk := range ts {
				if tk.State != StateExpired {
					t.Errorf("expired ticket in state %q", tk.State)
				}
				seen[tk.ID]++
			}
		})
	}
	wg.Wait()
	if want := map[string]int{ids[0]: 1, ids[1]: 1, ids[2]: 1}; !cmp.Equal(seen, want) {
		t.Errorf("expired = %v; want %v", seen, want)
	}
	if ps, _ := s2.Pending(ctx); len(ps) != 1 || ps[0].ID != ids[3] {
		t.Errorf("Pending after sweep = %v; want only %s", ps, ids[3])
	}
	for _, id := range ids[:3] {
		if got := outcomes(t, s1, id); !slices.Equal(got, []string{asker + ":requested", asker + ":expired"}) {
			t.Errorf("audit of %s = %v", id, got)
		}
	}
}

// TestConcurrentVotes has 100 goroutines over two Redis clients approve
// one ticket at once: exactly one job is queued and one decision audited.
func TestConcurrentVotes(t *testing.T) {
	rdb1, rdb2, prefix := testClient(t), testClient(t), testPrefix(t)
	stores := []*Store{mustOpen(t, rdb1, prefix, Options{}), mustOpen(t, rdb2, prefix, Options{})}
	ctx := context.Background()
	const required = 3
	tk := submit(t, stores[0], required)
	voters := make([]string, 50) // each votes twice
	for i := range voters {
		voters[i] = "UVOTER" + string(rune('A'+i/26)) + string(rune('A'+i%26))
	}
	var counted, decided, refused atomic.Int64
	var jobs sync.Map
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			<-start
			res, err := stores[i%2].Vote(ctx, tk.ID, voters[i/2], true, voters)
			switch {
			case errors.Is(err, ErrDecided):
				refused.Add(1)
				return
			case err != nil:
				t.Errorf("Vote: %v", err)
				return
			}
			if res.Counted {
				counted.Add(1)
			}
			if res.Decided {
				decided.Add(1)
				jobs.Store(res.JobID, true)
			}
		})
	}
	close(start)
	wg.Wait()
	if counted.Load() != required || decided.Load() != 1 {
		t.Errorf("counted %d, decided %d; want %d and 1", counted.Load(), decided.Load(), required)
	}
	if n := queued(t, stores[0]); n != 1 {
		t.Errorf("jobs queued = %d; want exactly 1", n)
	}
	got, err := stores[1].Get(ctx, tk.ID)
	if err != nil || got.State != StateApproved || len(got.Approvers) != required {
		t.Errorf("ticket = %+v, %v; want approved by %d", got, err, required)
	}
	var decisions, approves int
	for _, o := range outcomes(t, stores[0], tk.ID) {
		switch {
		case regexp.MustCompile(`:approved$`).MatchString(o):
			decisions++
		case regexp.MustCompile(`:approve$`).MatchString(o):
			approves++
		}
	}
	if decisions != 1 || approves != required {
		t.Errorf("audit: %d decisions and %d approvals; want 1 and %d", decisions, approves, required)
	}
}

// countHook counts the commands sent to Redis, and records their names
// when names is set.
type countHook struct {
	n     atomic.Int64
	names bool
	mu    sync.Mutex
	sent  []string
	// pipelines are the names of the commands of each pipeline sent.
	pipelines [][]string
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(cmd)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var names []string
		for _, c := range cmds {
			h.add(c)
			names = append(names, c.Name())
		}
		if h.names {
			h.mu.Lock()
			h.pipelines = append(h.pipelines, names)
			h.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

func (h *countHook) add(c redis.Cmder) {
	h.n.Add(1)
	if h.names {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.sent = append(h.sent, c.Name())
	}
}

// take returns the names of the commands sent since the last take.
func (h *countHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.sent
	h.sent = nil
	return n
}

// TestVoteIsOneRoundTrip counts the commands of votes: one EVALSHA each,
// whatever the vote does.
func TestVoteIsOneRoundTrip(t *testing.T) {
	rdb := testClient(t)
	s := mustOpen(t, rdb, testPrefix(t), Options{})
	ctx := context.Background()
	tk := submit(t, s, 2)
	if err := rdb.Ping(ctx).Err(); err != nil { // a warm connection
		t.Fatal(err)
	}
	h := &countHook{names: true}
	rdb.AddHook(h)
	for _, v := range []struct {
		voter   string
		approve bool
	}{{asker, true}, {other, true}, {appr1, true}, {appr1, true}, {appr2, true}, {appr2, false}} {
		if _, err := s.Vote(ctx, tk.ID, v.voter, v.approve, approvers); err != nil && !errors.Is(err, ErrSelfApproval) &&
			!errors.Is(err, ErrNotApprover) && !errors.Is(err, ErrDecided) {
			t.Fatal(err)
		}
		if got := h.take(); !slices.Equal(got, []string{"evalsha"}) {
			t.Errorf("vote by %s sent %v; want one evalsha", v.voter, got)
		}
	}
}

// TestJobRoundTrips counts the commands of a job's life in a busy queue:
// one to enqueue, one to claim (the look for deliveries to reclaim is made
// at most every ReclaimInterval, and at once after a Release), one to
// finish.
func TestJobRoundTrips(t *testing.T) {
	rdb := testClient(t)
	s := mustOpen(t, rdb, testPrefix(t), Options{Lease: time.Minute})
	ctx := context.Background()
	if j, err := s.Claim(ctx, "w1", 0); j != nil || err != nil { // creates the group, looks once
		t.Fatalf("Claim on an empty queue = %+v, %v", j, err)
	}
	h := &countHook{names: true}
	rdb.AddHook(h)
	for i := range 4 {
		if _, err := s.Enqueue(ctx, Job{Command: "show web1", Server: "web1"}); err != nil {
			t.Fatal(err)
		}
		if got := h.take(); !slices.Equal(got, []string{"evalsha"}) {
			t.Errorf("enqueue %d sent %v; want one evalsha", i, got)
		}
		j, err := s.Claim(ctx, "w1", time.Second)
		if err != nil || j == nil || j.Attempt != 1 || j.Retry || j.State != JobQueued {
			t.Fatalf("Claim = %+v, %v; want a first attempt", j, err)
		}
		want := []string{"xreadgroup"}
		if i == 1 {
			// The Claim after one that reclaimed a delivery looks again.
			want = []string{"xautoclaim", "xreadgroup"}
		}
		if got := h.take(); !slices.Equal(got, want) {
			t.Errorf("claim %d sent %v; want %v", i, got, want)
		}
		if i == 0 {
			// Released, the job is reclaimed by the next Claim, which looks
			// for it at once.
			if err := s.Release(ctx, j); err != nil {
				t.Fatal(err)
			}
			h.take()
			if j, err = s.Claim(ctx, "w2", 0); err != nil || j == nil || j.Attempt != 2 || j.Retry {
				t.Fatalf("Claim after Release = %+v, %v; want attempt 2, not a retry", j, err)
			}
			h.take()
		}
		if err := s.Finish(ctx, j, "done", false); err != nil {
			t.Fatal(err)
		}
		if got := h.take(); !slices.Equal(got, []string{"evalsha"}) {
			t.Errorf("finish %d sent %v; want one evalsha", i, got)
		}
	}
}

// TestWorkerDiesJobReclaimed has a worker stop mid-job (no heartbeat, no
// ack): after the lease another worker gets the job, marked as a retry.
func TestWorkerDiesJobReclaimed(t *testing.T) {
	const lease = 200 * time.Millisecond
	s := mustOpen(t, testClient(t), testPrefix(t), Options{Lease: lease})
	ctx := context.Background()
	id, err := s.Enqueue(ctx, Job{Command: "purge web1", RequestedBy: asker, Server: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	claimed := time.Now()
	j1, err := s.Claim(ctx, "w1", 0)
	if err != nil || j1 == nil || j1.ID != id || j1.Attempt != 1 || j1.Retry || j1.State != JobQueued {
		t.Fatalf("first Claim = %+v, %v; want attempt 1 of %s", j1, err, id)
	}
	if err := s.MarkRunning(ctx, j1); err != nil {
		t.Fatal(err)
	}
	// w1 dies here. Within the lease nobody else gets the job.
	j, err := s.Claim(ctx, "w2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if j != nil && time.Since(claimed) < lease/2 {
		t.Fatalf("job given to w2 %v after w1 claimed it, within the lease", time.Since(claimed))
	}
	var j2 *Job
	for deadline := time.Now().Add(10 * time.Second); j2 == nil; {
		if time.Now().After(deadline) {
			t.Fatal("job not reclaimed 10s after its lease ran out")
		}
		if j2, err = s.Claim(ctx, "w2", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(claimed); took < lease {
		t.Errorf("reclaimed after %v; want at least the lease %v", took, lease)
	}
	if j2.ID != id || !j2.Retry || j2.Attempt != 2 || j2.State != JobRunning {
		t.Errorf("reclaimed job = %+v; want %s, Retry, attempt 2, state running", j2, id)
	}
	if err := s.Heartbeat(ctx, j1, "w1"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("dead worker's Heartbeat = %v; want ErrLeaseLost", err)
	}
	if err := s.Heartbeat(ctx, j2, "w2"); err != nil {
		t.Errorf("new worker's Heartbeat = %v", err)
	}
	if err := s.Finish(ctx, j2, "done", false); err != nil {
		t.Fatal(err)
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("queue length after Finish = %d; want 0", n)
	}
	if st, _ := s.rdb.HGet(ctx, s.jobKey(id), "state").Result(); st != "done" {
		t.Errorf("job state = %q; want done", st)
	}
	if j, err := s.Claim(ctx, "w3", 0); j != nil || err != nil {
		t.Errorf("Claim after Finish = %+v, %v; want nothing", j, err)
	}
}

// TestHeartbeatKeepsLease checks that a worker that beats keeps its job.
func TestHeartbeatKeepsLease(t *testing.T) {
	const lease = 300 * time.Millisecond
	s := mustOpen(t, testClient(t), testPrefix(t), Options{Lease: lease})
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, Job{Command: "restart web1"}); err != nil {
		t.Fatal(err)
	}
	j1, err := s.Claim(ctx, "w1", 0)
	if err != nil || j1 == nil {
		t.Fatalf("Claim = %v, %v", j1, err)
	}
	tick := time.NewTicker(lease / 6)
	defer tick.Stop()
	for end := time.Now().Add(3 * lease); time.Now().Before(end); <-tick.C {
		if err := s.Heartbeat(ctx, j1, "w1"); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		if j, err := s.Claim(ctx, "w2", 0); err != nil || j != nil {
			t.Fatalf("w2 Claim while w1 beats = %+v, %v; want nothing", j, err)
		}
	}
	if err := s.Heartbeat(ctx, j1, "w2"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Heartbeat by a non-holder = %v; want ErrLeaseLost", err)
	}
}

// TestRelease checks that a released job is claimable at once.
func TestRelease(t *testing.T) {
	s := mustOpen(t, testClient(t), testPrefix(t), Options{Lease: time.Hour})
	ctx := context.Background()
	id, err := s.Enqueue(ctx, Job{Command: "restart web1"})
	if err != nil {
		t.Fatal(err)
	}
	j1, err := s.Claim(ctx, "w1", 0)
	if err != nil || j1 == nil {
		t.Fatalf("Claim = %v, %v", j1, err)
	}
	if err := s.Release(ctx, j1); err != nil {
		t.Fatalf("Release: %v", err)
	}
	j2, err := s.Claim(ctx, "w2", 0)
	if err != nil || j2 == nil || j2.ID != id || j2.Retry || j2.Attempt != 2 || j2.State != JobQueued {
		t.Fatalf("Claim after Release = %+v, %v; want %s, not a retry, attempt 2", j2, err, id)
	}
	if err := s.Heartbeat(ctx, j1, "w1"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Heartbeat after Release = %v; want ErrLeaseLost", err)
	}
	// Released after it started, it comes back as a retry.
	if err := s.MarkRunning(ctx, j2); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, j2); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, j2); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("second Release = %v; want ErrLeaseLost", err)
	}
	j3, err := s.Claim(ctx, "w3", 0)
	if err != nil || j3 == nil || !j3.Retry || j3.Attempt != 3 || j3.State != JobRunning {
		t.Fatalf("Claim after Release of a running job = %+v, %v; want a retry, attempt 3", j3, err)
	}
	if err := s.Finish(ctx, j3, "failed: boom", true); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.rdb.HGetAll(ctx, s.jobKey(id)).Result(); m["state"] != "failed" || m["outcome"] != "failed: boom" {
		t.Errorf("job record = %v", m)
	}
}

// TestRetire checks that consumers that hold nothing leave the consumer
// group (which otherwise grows with every process started), and that one
// holding a job stays so that the job is reclaimed.
func TestRetire(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	for _, cmd := range []string{"restart web1", "restart web2"} {
		if _, err := s.Enqueue(ctx, Job{Command: cmd}); err != nil {
			t.Fatal(err)
		}
	}
	j1, err := s.Claim(ctx, "idle-1", 0)
	if err != nil || j1 == nil {
		t.Fatalf("Claim = %v, %v", j1, err)
	}
	if err := s.Finish(ctx, j1, "done", false); err != nil {
		t.Fatal(err)
	}
	j2, err := s.Claim(ctx, "busy-1", 0)
	if err != nil || j2 == nil {
		t.Fatalf("Claim = %v, %v", j2, err)
	}
	n, err := s.Retire(ctx, "idle-1", "busy-1", "never-seen")
	if err != nil || n != 2 {
		t.Errorf("Retire = %d, %v; want 2 (idle-1 and never-seen)", n, err)
	}
	cs, err := s.rdb.XInfoConsumers(ctx, s.key("queue"), group).Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"busy-1"}) {
		t.Errorf("consumers after Retire = %v; want only busy-1, which holds a job", names)
	}
	if err := s.Heartbeat(ctx, j2, "busy-1"); err != nil {
		t.Errorf("Heartbeat of the kept consumer's job: %v", err)
	}
}

// TestClaimSkipsFinishedJob checks that a delivery of a job recorded done
// is acknowledged and not handed out again.
func TestClaimSkipsFinishedJob(t *testing.T) {
	const lease = 100 * time.Millisecond
	s := mustOpen(t, testClient(t), testPrefix(t), Options{Lease: lease})
	ctx := context.Background()
	id, err := s.Enqueue(ctx, Job{Command: "purge web1"})
	if err != nil {
		t.Fatal(err)
	}
	j1, err := s.Claim(ctx, "w1", 0)
	if err != nil || j1 == nil {
		t.Fatalf("Claim = %v, %v", j1, err)
	}
	// The job is recorded done, but its worker died before acking.
	if err := s.rdb.HSet(ctx, s.jobKey(id), "state", "done").Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("finished job still in the queue 10s after its lease")
		}
		j, err := s.Claim(ctx, "w2", 50*time.Millisecond)
		if err != nil || j != nil {
			t.Fatalf("Claim = %+v, %v; want nothing", j, err)
		}
		if queued(t, s) == 0 {
			break
		}
	}
	id2, err := s.Enqueue(ctx, Job{Command: "restart web2"})
	if err != nil {
		t.Fatal(err)
	}
	if j, err := s.Claim(ctx, "w2", 0); err != nil || j == nil || j.ID != id2 {
		t.Errorf("Claim = %+v, %v; want %s", j, err, id2)
	}
}

func TestEnqueueAndClaim(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	if j, err := s.Claim(ctx, "w1", 20*time.Millisecond); j != nil || err != nil {
		t.Errorf("Claim on an empty queue = %+v, %v", j, err)
	}
	if _, err := s.Claim(ctx, released, 0); err == nil {
		t.Errorf("Claim as %q succeeded", released)
	}
	in := Job{ID: "fixedid001", Command: "restart web1", RequestedBy: asker, Channel: "C1", ThreadTS: "1.2",
		Origin: "slack", Server: "web1", Meta: map[string]string{"req": "abc"}}
	for range 2 {
		id, err := s.Enqueue(ctx, in)
		if err != nil || id != in.ID {
			t.Fatalf("Enqueue = %q, %v", id, err)
		}
	}
	if n := queued(t, s); n != 1 {
		t.Errorf("queue length after enqueueing one ID twice = %d; want 1", n)
	}
	// A blocked Claim is woken by an Enqueue.
	got := make(chan *Job)
	go func() {
		j, err := s.Claim(ctx, "w1", 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- j
	}()
	j := <-got
	want := in
	want.Attempt, want.State, want.EnqueuedAt = 1, JobQueued, clk.Now()
	if diff := cmp.Diff(&want, j, cmpopts.IgnoreUnexported(Job{})); diff != "" {
		t.Errorf("claimed job mismatch (-want +got):\n%s", diff)
	}
	go func() {
		j, err := s.Claim(ctx, "w2", 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- j
	}()
	id, err := s.Enqueue(ctx, Job{Command: "show web1"})
	if err != nil {
		t.Fatal(err)
	}
	if j := <-got; j == nil || j.ID != id {
		t.Errorf("blocked Claim got %+v; want %s", j, id)
	}
	if err := s.MarkRunning(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, j, "done", false); err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditLog(ctx, "web1", 10)
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, e := range es {
		outs = append(outs, e.Actor+":"+e.Outcome+":"+e.Action)
	}
	if want := []string{asker + ":done:restart web1", asker + ":started:restart web1"}; !slices.Equal(outs, want) {
		t.Errorf("audit = %v; want %v", outs, want)
	}
}

func TestSchedule(t *testing.T) {
	clk := newClock()
	prefix := testPrefix(t)
	s1 := mustOpen(t, testClient(t), prefix, Options{Now: clk.Now})
	s2 := mustOpen(t, testClient(t), prefix, Options{Now: clk.Now})
	ctx := context.Background()
	job := Job{Command: "reset web1", RequestedBy: "alertmanager", Origin: "alert", Server: "web1", Meta: map[string]string{"fp": "x"}}
	at := clk.Now().Add(time.Minute)
	if ok, err := s1.Schedule(ctx, "reboot:web1", job, at); !ok || err != nil {
		t.Fatalf("Schedule = %v, %v", ok, err)
	}
	if ok, err := s1.Schedule(ctx, "reboot:web1", job, at); ok || err != nil {
		t.Errorf("second Schedule = %v, %v; want false", ok, err)
	}
	if n, err := s1.PromoteDue(ctx); n != 0 || err != nil {
		t.Errorf("PromoteDue before due = %d, %v", n, err)
	}
	if ok, err := s1.CancelScheduled(ctx, "reboot:web1"); !ok || err != nil {
		t.Errorf("CancelScheduled = %v, %v; want true", ok, err)
	}
	if ok, err := s1.CancelScheduled(ctx, "reboot:web1"); ok || err != nil {
		t.Errorf("second CancelScheduled = %v, %v; want false", ok, err)
	}
	for _, k := range []string{"reboot:web1", "reboot:web2"} {
		if ok, err := s1.Schedule(ctx, k, job, at); !ok || err != nil {
			t.Fatalf("Schedule(%s) = %v, %v", k, ok, err)
		}
	}
	clk.Add(time.Minute)
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, s := range []*Store{s1, s2, s1, s2} {
		wg.Go(func() {
			n, err := s.PromoteDue(ctx)
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	if total.Load() != 2 {
		t.Errorf("promoted %d in all; want 2", total.Load())
	}
	if n := queued(t, s1); n != 2 {
		t.Errorf("queue length = %d; want 2", n)
	}
	if ok, _ := s1.CancelScheduled(ctx, "reboot:web1"); ok {
		t.Error("CancelScheduled after promotion = true")
	}
	j, err := s2.Claim(ctx, "w1", 0)
	if err != nil || j == nil || j.ID == "" || j.Command != job.Command || j.Server != "web1" || j.Meta["fp"] != "x" || !j.EnqueuedAt.Equal(clk.Now()) {
		t.Errorf("promoted job = %+v, %v", j, err)
	}
}

func TestOnceAndLock(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	if ok, err := s.Once(ctx, "delivery:1", time.Minute); !ok || err != nil {
		t.Fatalf("first Once = %v, %v", ok, err)
	}
	if ok, err := s.Once(ctx, "delivery:1", time.Minute); ok || err != nil {
		t.Errorf("second Once = %v, %v; want false", ok, err)
	}
	if ok, _ := s.Once(ctx, "delivery:2", time.Minute); !ok {
		t.Error("Once of another key = false")
	}
	tok, err := s.Lock(ctx, "server:web1", time.Minute)
	if err != nil || tok == "" {
		t.Fatalf("Lock = %q, %v", tok, err)
	}
	if tok2, err := s.Lock(ctx, "server:web1", time.Minute); tok2 != "" || err != nil {
		t.Errorf("second Lock = %q, %v; want held", tok2, err)
	}
	if err := s.Unlock(ctx, "server:web1", "wrong"); err != nil {
		t.Fatal(err)
	}
	if tok2, _ := s.Lock(ctx, "server:web1", time.Minute); tok2 != "" {
		t.Error("Unlock with a wrong token released the lock")
	}
	if err := s.Unlock(ctx, "server:web1", tok); err != nil {
		t.Fatal(err)
	}
	if tok2, _ := s.Lock(ctx, "server:web1", time.Minute); tok2 == "" {
		t.Error("Lock after Unlock: still held")
	}
}

func TestLockAs(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	const key = "server:web1"
	pttl := func() time.Duration {
		t.Helper()
		d, err := s.rdb.PTTL(ctx, s.key("lock", key)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if ok, err := s.LockAs(ctx, key, "job:A", 2*time.Second); !ok || err != nil {
		t.Fatalf("LockAs(A) = %v, %v; want taken", ok, err)
	}
	// Its owner re-enters at once, and the TTL is renewed.
	if ok, err := s.LockAs(ctx, key, "job:A", time.Hour); !ok || err != nil {
		t.Fatalf("LockAs(A) again = %v, %v; want re-entered", ok, err)
	}
	if d := pttl(); d < 59*time.Minute {
		t.Errorf("TTL after re-entry = %v; want renewed to about 1h", d)
	}
	// Any other owner, or Lock, is refused, and does not touch the TTL.
	if ok, err := s.LockAs(ctx, key, "job:B", time.Second); ok || err != nil {
		t.Errorf("LockAs(B) = %v, %v; want refused", ok, err)
	}
	if tok, err := s.Lock(ctx, key, time.Second); tok != "" || err != nil {
		t.Errorf("Lock = %q, %v; want held", tok, err)
	}
	if d := pttl(); d < 59*time.Minute {
		t.Errorf("TTL after refused takes = %v; want unchanged", d)
	}
	// Only its owner unlocks it.
	if err := s.Unlock(ctx, key, "job:B"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.LockAs(ctx, key, "job:B", time.Minute); ok {
		t.Fatal("Unlock by another owner released the lock")
	}
	if err := s.Unlock(ctx, key, "job:A"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.LockAs(ctx, key, "job:B", time.Minute); !ok || err != nil {
		t.Fatalf("LockAs(B) after A's Unlock = %v, %v; want taken", ok, err)
	}
	if ok, _ := s.LockAs(ctx, key, "job:A", time.Minute); ok {
		t.Error("LockAs(A) while B holds it: taken")
	}
	// A lock taken with Lock is not re-entered by LockAs.
	tok, err := s.Lock(ctx, "server:web2", time.Minute)
	if err != nil || tok == "" {
		t.Fatalf("Lock(web2) = %q, %v", tok, err)
	}
	if ok, _ := s.LockAs(ctx, "server:web2", "job:A", time.Minute); ok {
		t.Error("LockAs over a Lock: taken")
	}
	// It ends by itself after its TTL.
	if ok, _ := s.LockAs(ctx, "server:web3", "job:A", 50*time.Millisecond); !ok {
		t.Fatal("LockAs(web3) refused")
	}
	time.Sleep(150 * time.Millisecond)
	if ok, _ := s.LockAs(ctx, "server:web3", "job:B", time.Minute); !ok {
		t.Error("LockAs after the holder's TTL ran out: refused")
	}
	for _, bad := range []struct {
		owner string
		ttl   time.Duration
	}{{"", time.Minute}, {"job:A", 0}} {
		if _, err := s.LockAs(ctx, "server:web4", bad.owner, bad.ttl); err == nil {
			t.Errorf("LockAs(%q, %v) succeeded", bad.owner, bad.ttl)
		}
	}
}

func TestCooldown(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	check := func(wantOK bool, wantRemaining time.Duration) {
		t.Helper()
		ok, rem, err := s.Cooldown(ctx, "web1", 15*time.Minute)
		if err != nil || ok != wantOK || rem != wantRemaining {
			t.Errorf("Cooldown = %v, %v, %v; want %v, %v", ok, rem, err, wantOK, wantRemaining)
		}
	}
	check(true, 0)
	check(false, 15*time.Minute)
	clk.Add(10 * time.Minute)
	check(false, 5*time.Minute)
	clk.Add(5 * time.Minute)
	check(true, 0)
	if ok, _, _ := s.Cooldown(ctx, "web2", 15*time.Minute); !ok {
		t.Error("cooldown of web1 held web2")
	}
}

func TestRateLimitSlides(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	check := func(wantOK bool, wantCount int) {
		t.Helper()
		ok, n, err := s.RateLimit(ctx, "web1", 3, 24*time.Hour)
		if err != nil || ok != wantOK || n != wantCount {
			t.Errorf("RateLimit at %v = %v, %d, %v; want %v, %d", clk.Now().Format(time.Kitchen), ok, n, err, wantOK, wantCount)
		}
	}
	check(true, 1) // 12:00
	clk.Add(10 * time.Hour)
	check(true, 2) // 22:00
	clk.Add(10 * time.Hour)
	check(true, 3) // 08:00 next day
	clk.Add(3 * time.Hour)
	check(false, 3) // 11:00: three in the last 24 hours
	clk.Add(time.Hour)
	check(true, 3) // 12:00: the first has left the window
	check(false, 3)
	clk.Add(10 * time.Hour)
	check(true, 3) // 22:00: the second has left too
}

func TestDistinctLimit(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	check := func(member string, wantOK bool, wantCount int) {
		t.Helper()
		ok, n, err := s.DistinctLimit(ctx, "fleet", member, 2, 10*time.Minute)
		if err != nil || ok != wantOK || n != wantCount {
			t.Errorf("DistinctLimit(%s) = %v, %d, %v; want %v, %d", member, ok, n, err, wantOK, wantCount)
		}
	}
	check("web1", true, 1)
	check("web2", true, 2)
	check("web1", true, 2) // already counted: allowed, not counted twice
	check("web3", false, 2)
	clk.Add(9 * time.Minute)
	check("web2", true, 2) // web2 refreshed at 9m
	clk.Add(2 * time.Minute)
	check("web3", true, 2) // web1 (last at 0m) left the window
	check("web4", false, 2)
}

func TestAuditLog(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, testClient(t), testPrefix(t), Options{Now: clk.Now, AuditMax: 100})
	ctx := context.Background()
	servers := []string{"web1.default.acme", "web10.default.acme", "db1.default.acme"}
	for i := range 1200 {
		clk.Add(time.Second)
		if err := s.Audit(ctx, Entry{Actor: "U1", Action: "restart", Server: servers[i%3], Outcome: "done", Detail: string(rune('a' + i%26))}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.rdb.XLen(ctx, s.key("audit")).Result(); n < 100 || n > 300 {
		t.Errorf("audit length = %d; want about AuditMax (100)", n)
	}
	es, err := s.AuditLog(ctx, "", 5)
	if err != nil || len(es) != 5 {
		t.Fatalf("AuditLog = %d entries, %v", len(es), err)
	}
	for i := 1; i < len(es); i++ {
		if !es[i].Time.Before(es[i-1].Time) {
			t.Errorf("entries not newest first: %v then %v", es[i-1].Time, es[i].Time)
		}
	}
	if !es[0].Time.Equal(clk.Now()) || es[0].Server != servers[1199%3] || es[0].ID == "" {
		t.Errorf("newest = %+v", es[0])
	}
	es, err = s.AuditLog(ctx, "web1", 10)
	if err != nil || len(es) != 10 {
		t.Fatalf("AuditLog(web1) = %d entries, %v", len(es), err)
	}
	for _, e := range es {
		if e.Server != "web1.default.acme" {
			t.Errorf("AuditLog(web1) gave an entry of %s", e.Server)
		}
	}
	if es, _ := s.AuditLog(ctx, "db1.default.acme", 1000); len(es) == 0 || len(es) > 110 {
		t.Errorf("AuditLog(db1.default.acme, 1000) = %d entries; want those left in the capped log", len(es))
	}
	if es, _ := s.AuditLog(ctx, "nosuch", 10); len(es) != 0 {
		t.Errorf("AuditLog(nosuch) = %v", es)
	}
}

// TestPrefixIsolation checks that two bots with different prefixes share
// a Redis without seeing each other.
func TestPrefixIsolation(t *testing.T) {
	rdb := testClient(t)
	a := mustOpen(t, rdb, testPrefix(t), Options{})
	b := mustOpen(t, rdb, testPrefix(t), Options{})
	ctx := context.Background()
	tk := submit(t, a, 1)
	if _, err := b.Get(ctx, tk.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("other bot's Get = %v; want ErrNotFound", err)
	}
	if _, err := b.Vote(ctx, tk.ID, appr1, true, approvers); !errors.Is(err, ErrNotFound) {
		t.Errorf("other bot's Vote = %v; want ErrNotFound", err)
	}
	if _, err := a.Vote(ctx, tk.ID, appr1, true, approvers); err != nil {
		t.Fatal(err)
	}
	if j, err := b.Claim(ctx, "w", 0); j != nil || err != nil {
		t.Errorf("other bot claimed %+v, %v", j, err)
	}
	if j, err := a.Claim(ctx, "w", 0); j == nil || err != nil {
		t.Errorf("own Claim = %+v, %v", j, err)
	}
	if es, _ := b.AuditLog(ctx, "", 10); len(es) != 0 {
		t.Errorf("other bot's audit log = %v", es)
	}
}

// TestWithoutLoad checks that a Store works without Load: the consumer
// group is created on first use.
func TestWithoutLoad(t *testing.T) {
	s := New(testClient(t), Options{Prefix: testPrefix(t)})
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if j, err := s.Claim(ctx, "w1", 0); j != nil || err != nil {
		t.Fatalf("Claim before any job = %+v, %v", j, err)
	}
	tk := submit(t, s, 1)
	res, err := s.Vote(ctx, tk.ID, appr1, true, approvers)
	if err != nil || !res.Decided {
		t.Fatalf("Vote = %+v, %v", res, err)
	}
	if j, err := s.Claim(ctx, "w1", 0); j == nil || err != nil || j.ID != res.JobID {
		t.Errorf("Claim = %+v, %v; want job %s", j, err, res.JobID)
	}
}

// TestHostileIDs checks that odd ticket IDs are simply not found.
func TestHostileIDs(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	tk := submit(t, s, 1)
	for _, id := range []string{"", " ", "*", tk.ID + "*", "../" + tk.ID, "pending", "a:b", string(make([]byte, 2048))} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) error = %v; want ErrNotFound", id, err)
		}
		if _, err := s.Vote(ctx, id, appr1, true, approvers); !errors.Is(err, ErrNotFound) {
			t.Errorf("Vote(%q) error = %v; want ErrNotFound", id, err)
		}
		if _, err := s.Cancel(ctx, id, asker); !errors.Is(err, ErrNotFound) {
			t.Errorf("Cancel(%q) error = %v; want ErrNotFound", id, err)
		}
	}
	if got, err := s.Get(ctx, strings.ToUpper(tk.ID)); err != nil || got.ID != tk.ID {
		t.Errorf("Get(upper case ID) = %v, %v", got.ID, err)
	}
	if _, err := s.Vote(ctx, tk.ID, "", true, append(approvers, "")); !errors.Is(err, ErrNotApprover) {
		t.Errorf("Vote by nobody error = %v; want ErrNotApprover", err)
	}
	if _, err := s.Once(ctx, "k", 0); err == nil {
		t.Error("Once with no TTL succeeded")
	}
}

// TestPromoteKeepsID: a delayed job keeps the ID it was scheduled with, so
// the executor's at-most-once markers (keyed on the job ID) hold across a
// reschedule; and promoting a job whose ID is already queued (or ran) adds
// nothing to the queue, as Enqueue of a known ID does nothing.
func TestPromoteKeepsID(t *testing.T) {
	s, clk := openClocked(t)
	ctx := context.Background()
	job := Job{ID: "reboot1fixed", Command: "reset web1", RequestedBy: "alertmanager", Origin: "alert", Server: "web1"}
	if ok, err := s.Schedule(ctx, "hooks:pending:a", job, clk.Now()); !ok || err != nil {
		t.Fatalf("Schedule = %v, %v", ok, err)
	}
	if n, err := s.PromoteDue(ctx); n != 1 || err != nil {
		t.Fatalf("PromoteDue = %d, %v; want 1", n, err)
	}
	j, err := s.Claim(ctx, "w1", 0)
	if err != nil || j == nil {
		t.Fatalf("Claim = %v, %v", j, err)
	}
	if j.ID != job.ID {
		t.Errorf("promoted job's ID = %q; want the scheduled %q", j.ID, job.ID)
	}
	if err := s.Finish(ctx, j, "done", false); err != nil {
		t.Fatal(err)
	}

	// The same job scheduled again (a reschedule after it ran) is not queued again.
	if ok, err := s.Schedule(ctx, "hooks:pending:a", job, clk.Now()); !ok || err != nil {
		t.Fatalf("Schedule again = %v, %v", ok, err)
	}
	if n, err := s.PromoteDue(ctx); n != 0 || err != nil {
		t.Errorf("PromoteDue of a job that already ran = %d, %v; want 0", n, err)
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("queue length = %d; want 0", n)
	}
	if ok, _ := s.CancelScheduled(ctx, "hooks:pending:a"); ok {
		t.Error("the job that already ran is still scheduled")
	}

	// A job scheduled without an ID gets one when scheduled, and keeps it.
	if ok, err := s.Schedule(ctx, "hooks:pending:b", Job{Command: "reset web2", Server: "web2"}, clk.Now()); !ok || err != nil {
		t.Fatalf("Schedule without ID = %v, %v", ok, err)
	}
	if n, err := s.PromoteDue(ctx); n != 1 || err != nil {
		t.Fatalf("PromoteDue = %d, %v; want 1", n, err)
	}
	j, err = s.Claim(ctx, "w1", 0)
	if err != nil || j == nil || j.ID == "" || j.Command != "reset web2" {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
}

// TestEnqueueOnce: a job whose ID is known is not queued again, nor is
// another job under a repeat key inside its window; each in one script.
func TestEnqueueOnce(t *testing.T) {
	s := MustOpenStore(t)
	ctx := context.Background()
	job := Job{ID: "reqderived1", Command: "restart web1", RequestedBy: asker, Channel: "COPS", Server: "web1"}
	res, err := s.EnqueueOnce(ctx, job, "", 0)
	if err != nil || !res.Queued || res.ID != job.ID {
		t.Fatalf("first EnqueueOnce = %+v, %v; want queued", res, err)
	}
	res, err = s.EnqueueOnce(ctx, job, "", 0)
	if err != nil || res.Queued || res.Repeat != "" || res.ID != job.ID {
		t.Errorf("EnqueueOnce of a known ID = %+v, %v; want not queued, no repeat", res, err)
	}
	if n := queued(t, s); n != 1 {
		t.Errorf("queue length = %d; want 1", n)
	}

	a := Job{ID: "reqa", Command: "stop web2", RequestedBy: asker, Channel: "COPS", Server: "web2"}
	b := Job{ID: "reqb", Command: "stop web2", RequestedBy: asker, Channel: "COPS", Server: "web2"}
	if res, err := s.EnqueueOnce(ctx, a, "k", time.Minute); err != nil || !res.Queued {
		t.Fatalf("EnqueueOnce(a) = %+v, %v", res, err)
	}
	if res, err := s.EnqueueOnce(ctx, b, "k", time.Minute); err != nil || res.Queued || res.Repeat != "reqa" {
		t.Errorf("EnqueueOnce(b) under the same repeat key = %+v, %v; want not queued, repeat of reqa", res, err)
	}
	if res, err := s.EnqueueOnce(ctx, a, "k", time.Minute); err != nil || res.Queued || res.Repeat != "" {
		t.Errorf("EnqueueOnce(a) again = %+v, %v; want known", res, err)
	}
	if res, err := s.EnqueueOnce(ctx, b, "other", time.Minute); err != nil || !res.Queued {
		t.Errorf("EnqueueOnce(b) under another repeat key = %+v, %v; want queued", res, err)
	}
	if n := queued(t, s); n != 3 {
		t.Errorf("queue length = %d; want 3", n)
	}

	// A job that failed frees its repeat key; one that succeeded does not.
	c := Job{ID: "reqc", Command: "start web3", RequestedBy: asker, Channel: "COPS", Server: "web3"}
	d := Job{ID: "reqd", Command: "start web3", RequestedBy: asker, Channel: "COPS", Server: "web3"}
	e := Job{ID: "reqe", Command: "start web3", RequestedBy: asker, Channel: "COPS", Server: "web3"}
	if res, err := s.EnqueueOnce(ctx, c, "k3", time.Minute); err != nil || !res.Queued {
		t.Fatalf("EnqueueOnce(c) = %+v, %v", res, err)
	}
	finish := func(id string, failed bool) {
		t.Helper()
		for {
			j, err := s.Claim(ctx, "w1", 0)
			if err != nil || j == nil {
				t.Fatalf("Claim = %v, %v; want job %s", j, err, id)
			}
			if err := s.Finish(ctx, j, "", j.ID == id && failed); err != nil {
				t.Fatal(err)
			}
			if j.ID == id {
				if j.RepeatKey != "k3" {
					t.Errorf("claimed job's RepeatKey = %q; want k3", j.RepeatKey)
				}
				return
			}
		}
	}
	finish("reqc", true)
	if res, err := s.EnqueueOnce(ctx, d, "k3", time.Minute); err != nil || !res.Queued {
		t.Errorf("EnqueueOnce(d) after c failed = %+v, %v; want queued", res, err)
	}
	finish("reqd", false)
	if res, err := s.EnqueueOnce(ctx, e, "k3", time.Minute); err != nil || res.Queued || res.Repeat != "reqd" {
		t.Errorf("EnqueueOnce(e) after d succeeded = %+v, %v; want a repeat of reqd", res, err)
	}
}
