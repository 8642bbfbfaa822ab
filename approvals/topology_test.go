package approvals

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/internal/redisconn"
	"github.com/bytebot/bytebot/internal/redistest"
)

// topology, when set, is the Redis deployment the tests run on instead of
// the single test Redis (TestTopologies sets it; no test of this package is
// parallel, so no other test runs meanwhile).
var topology *topo

type topo struct {
	url   string
	kind  redisconn.Kind
	calls *evalRecorder // the scripts' keys, when recording
}

// testClient is a client of the Redis the test runs on, built as the bot
// builds its own.
func testClient(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	if topology == nil {
		return redistest.Client(tb)
	}
	c := redistest.Open(tb, topology.url)
	if topology.calls != nil {
		redistest.OnCommand(c, topology.calls.add)
	}
	return c
}

// testPrefix is a prefix of the test's own. On a topology of the test's
// own (which dies with the test binary) its keys are left.
func testPrefix(tb testing.TB) string {
	tb.Helper()
	if topology == nil {
		return redistest.Prefix(tb)
	}
	b := make([]byte, 6)
	rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// waitReplicas is what main sets Options.WaitReplicas to on the topology.
func waitReplicas() int {
	if topology == nil {
		return 0
	}
	return topology.kind.WaitReplicas()
}

// evalRecorder records the keys of every script call (EVAL, EVALSHA), on
// its own and in pipelines.
type evalRecorder struct {
	mu    sync.Mutex
	calls []evalCall
}

type evalCall struct {
	sha  string
	keys []string
}

func (r *evalRecorder) add(_ context.Context, c redis.Cmder) {
	name := c.Name()
	if name != "eval" && name != "evalsha" {
		return
	}
	args := c.Args()
	sha := fmt.Sprint(args[1])
	if name == "eval" {
		sum := sha1.Sum([]byte(sha))
		sha = hex.EncodeToString(sum[:])
	}
	n, _ := strconv.Atoi(fmt.Sprint(args[2]))
	var keys []string
	for _, k := range args[3 : 3+n] {
		keys = append(keys, fmt.Sprint(k))
	}
	r.mu.Lock()
	r.calls = append(r.calls, evalCall{sha, keys})
	r.mu.Unlock()
}

// onTopologies are the tests run on each topology: the whole approval flow,
// the work queue with reclaim, delayed jobs, and the guards the webhooks
// use (locks, cooldowns, rate and distinct limits, the audit log). Left
// out: the round-trip counts (a single node's), which TestDecidingWritesWait
// covers for Sentinel.
var onTopologies = []struct {
	name string
	f    func(*testing.T)
}{
	{"SubmitGet", TestSubmitGet}, {"SelfApprovalRefused", TestSelfApprovalRefused},
	{"NonApproverRefused", TestNonApproverRefused}, {"QuorumOfTwoNeedsTwoPeople", TestQuorumOfTwoNeedsTwoPeople},
	{"DeniedNeverRuns", TestDeniedNeverRuns}, {"ExpiredNeverRuns", TestExpiredNeverRuns},
	{"VoteInBoundToTicketChannel", TestVoteInBoundToTicketChannel}, {"Cancel", TestCancel},
	{"PendingAndExpireDue", TestPendingAndExpireDue}, {"ConcurrentVotes", TestConcurrentVotes},
	{"WorkerDiesJobReclaimed", TestWorkerDiesJobReclaimed}, {"HeartbeatKeepsLease", TestHeartbeatKeepsLease},
	{"Release", TestRelease}, {"Retire", TestRetire}, {"ClaimSkipsFinishedJob", TestClaimSkipsFinishedJob},
	{"EnqueueAndClaim", TestEnqueueAndClaim}, {"Schedule", TestSchedule},
	{"OnceAndLock", TestOnceAndLock}, {"LockAs", TestLockAs}, {"Cooldown", TestCooldown},
	{"RateLimitSlides", TestRateLimitSlides}, {"DistinctLimit", TestDistinctLimit},
	{"AuditLog", TestAuditLog}, {"PrefixIsolation", TestPrefixIsolation}, {"WithoutLoad", TestWithoutLoad},
	{"HostileIDs", TestHostileIDs}, {"LockEach", TestLockEach}, {"CooldownEach", TestCooldownEach},
	{"AuditEach", TestAuditEach}, {"EnqueueOnce", TestEnqueueOnce}, {"PromoteKeepsID", TestPromoteKeepsID},
	{"StagedPurge", TestStagedPurge}, {"UndoPurgeOnce", TestUndoPurgeOnce}, {"Undelete", TestUndelete},
	{"Holds", TestHolds}, {"StartHere", TestStartHere},
}

// TestTopologies runs the Store's tests on a real 3-master Redis Cluster and
// on a real Sentinel set (master, replica, 3 sentinels), through clients
// built as the bot builds its own. On the cluster it records the keys of
// every script call and checks, with CLUSTER KEYSLOT, that each call's keys
// hash to one slot, and that every script was called.
func TestTopologies(t *testing.T) {
	t.Cleanup(func() { topology = nil })
	for _, tc := range []struct {
		name  string
		start func(testing.TB) string
	}{
		{"cluster", func(tb testing.TB) string { return redistest.SharedCluster(tb).URL() }},
		{"sentinel", func(tb testing.TB) string { return redistest.SharedSentinel(tb).URL() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.start(t)
			cfg, err := redisconn.Parse(url)
			if err != nil {
				t.Fatal(err)
			}
			topology = &topo{url: url, kind: cfg.Kind, calls: &evalRecorder{}}
			defer func() { topology = nil }()
			for _, tt := range onTopologies {
				t.Run(tt.name, tt.f)
			}
			if cfg.Kind == redisconn.Cluster {
				checkSlots(t, url, topology.calls)
			}
		})
	}
}

// checkSlots asserts that the keys of each recorded script call share a
// slot on the cluster at url, and that every script was called.
func checkSlots(t *testing.T, url string, rec *evalRecorder) {
	t.Helper()
	rdb := redistest.Open(t, url)
	ctx := context.Background()
	rec.mu.Lock()
	calls := slices.Clone(rec.calls)
	rec.mu.Unlock()
	seen := map[string]bool{}
	slotOf := map[string]int64{}
	for _, c := range calls {
		seen[c.sha] = true
		slots := map[int64][]string{}
		for _, k := range c.keys {
			slot, ok := slotOf[k]
			if !ok {
				var err error
				if slot, err = rdb.ClusterKeySlot(ctx, k).Result(); err != nil {
					t.Fatalf("CLUSTER KEYSLOT %s: %v", k, err)
				}
				slotOf[k] = slot
			}
			slots[slot] = append(slots[slot], k)
		}
		if len(slots) != 1 {
			t.Errorf("%s was called with keys in %d slots: %v", scriptName(c.sha), len(slots), slots)
		}
	}
	for _, sc := range newScripts().all() {
		if !seen[sc.Hash()] {
			t.Errorf("%s was never called on the cluster; its keys are unchecked", scriptName(sc.Hash()))
		}
	}
	t.Logf("%d script calls, %d distinct keys, all in one slot per call", len(calls), len(slotOf))
}

// scriptName names the script of sha by its constant in scripts.go.
func scriptName(sha string) string {
	for name, src := range map[string]string{
		"submitLua": submitLua, "voteLua": voteLua, "cancelLua": cancelLua, "setMessageLua": setMessageLua,
		"expireLua": expireLua, "enqueueLua": enqueueLua, "takeLua": takeLua, "heartbeatLua": heartbeatLua,
		"releaseLua": releaseLua, "markRunningLua": markRunningLua, "finishLua": finishLua,
		"scheduleLua": scheduleLua, "unscheduleLua": unscheduleLua, "promoteLua": promoteLua,
		"cooldownLua": cooldownLua, "rateLua": rateLua, "distinctLua": distinctLua, "unlockLua": unlockLua,
		"retireLua": retireLua, "lockAsLua": lockAsLua, "startHereLua": startHereLua,
		"stageLua": stageLua, "undoLua": undoLua, "stepLua": stepLua, "dueLua": dueLua, "undeleteLua": undeleteLua,
		"holdLua": holdLua, "cancelHoldLua": cancelHoldLua, "takeHoldsLua": takeHoldsLua, "doneHoldLua": doneHoldLua,
	} {
		if redis.NewScript(src).Hash() == sha {
			return name
		}
	}
	return "script " + strings.ToUpper(sha[:8])
}

// TestDecidingWritesWait checks, on a Sentinel set, that a write that
// decides (a ticket opened, a vote, a job queued, started, finished) is one pipeline of the
// script and WAIT 1, on the master's connection, and that the replica
// confirmed each.
func TestDecidingWritesWait(t *testing.T) {
	url := redistest.SharedSentinel(t).URL()
	cfg, err := redisconn.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redistest.Open(t, url)
	// A long ReplicaTimeout: WAIT answers as soon as the replica has the
	// write, and a loaded machine must not make the test flaky.
	s := mustOpen(t, rdb, testPrefix(t), Options{WaitReplicas: cfg.Kind.WaitReplicas(), ReplicaTimeout: 20 * time.Second})
	ctx := context.Background()
	h := &countHook{names: true}
	rdb.AddHook(h)
	tk := submit(t, s, 1)
	res, err := s.Vote(ctx, tk.ID, appr1, true, approvers)
	if err != nil || !res.Decided {
		t.Fatalf("Vote = %+v, %v", res, err)
	}
	if _, err := s.Enqueue(ctx, Job{Command: "restart web1"}); err != nil {
		t.Fatal(err)
	}
	job, err := s.Claim(ctx, "w1", 0)
	if err != nil || job == nil {
		t.Fatalf("Claim = %+v, %v", job, err)
	}
	if err := s.MarkRunning(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, job, "done", false); err != nil {
		t.Fatal(err)
	}
	// submit, vote, enqueue, start, finish
	want := [][]string{{"evalsha", "wait"}, {"evalsha", "wait"}, {"evalsha", "wait"}, {"evalsha", "wait"}, {"evalsha", "wait"}}
	h.mu.Lock()
	var got [][]string
	for _, p := range h.pipelines {
		if p[0] != "client" { // a new connection's CLIENT SETINFO
			got = append(got, p)
		}
	}
	h.mu.Unlock()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("pipelines sent = %v; want %v (submit, vote, enqueue, start, finish)", got, want)
	}
	if n := s.Unreplicated(); n != 0 {
		t.Errorf("Unreplicated = %d; want 0 with the replica up", n)
	}
}

// TestKeyPrefix checks how REDIS_PREFIX becomes the start of every key: a
// hash tag, unless it holds one already.
func TestKeyPrefix(t *testing.T) {
	for p, want := range map[string]string{
		"bytebot:":     "{bytebot}:",
		"team-a":       "{team-a}",
		"a:b:":         "{a:b}:",
		":":            "{:}",
		"{bytebot}:":   "{bytebot}:",
		"app:{x}:":     "app:{x}:",
		"odd{}:":       "{odd{}}:",
		"test:0a1b2c:": "{test:0a1b2c}:",
	} {
		if got := KeyPrefix(p); got != want {
			t.Errorf("KeyPrefix(%q) = %q; want %q", p, got, want)
		}
	}
	s := New(nil, Options{})
	if got := s.ticketKey("abc"); got != "{bytebot}:ticket:abc" {
		t.Errorf("default ticket key = %q; want {bytebot}:ticket:abc", got)
	}
}

// TestUnreplicatedWriteCounted checks the window RELIABILITY.md describes:
// with the only replica stalled, a ticket is still opened (on the master)
// after ReplicaTimeout, and Unreplicated counts it as a write a failover
// could lose.
func TestUnreplicatedWriteCounted(t *testing.T) {
	set := redistest.StartSentinel(t)
	rdb := redistest.Open(t, set.URL())
	s := mustOpen(t, rdb, testPrefix(t), Options{WaitReplicas: redisconn.Sentinel.WaitReplicas(), ReplicaTimeout: 200 * time.Millisecond})
	resume := set.Replica.Pause()
	start := time.Now()
	tk := submit(t, s, 1)
	took := time.Since(start)
	resume()
	if n := s.Unreplicated(); n != 1 {
		t.Errorf("Unreplicated with the replica stalled = %d; want 1", n)
	}
	if took < 200*time.Millisecond {
		t.Errorf("the submit took %s; want it to have waited ReplicaTimeout (200ms) for the replica", took)
	}
	if got, err := s.Get(context.Background(), tk.ID); err != nil || got.State != StatePending {
		t.Errorf("Get = %+v, %v; want the ticket pending on the master", got, err)
	}
}
