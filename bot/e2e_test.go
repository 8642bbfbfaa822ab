package bot_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/internal/bottest"
)

// TestUsageErrors checks that bad input gets a specific ephemeral answer
// and queues nothing: with one worker jobs run in the order they were
// queued, so once a marker command queued after them has posted its
// result, anything they had queued would have run and posted first.
func TestUsageErrors(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Workers = 1 }))
	for _, text := range []string{"frobnicate web1", "restart", "restart web1 web2", "disc add web1 data 10Q", "purge ../etc"} {
		body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, text)
		if body.ResponseType != "ephemeral" || body.Text == "" || strings.Contains(body.Text, "Something went wrong") {
			t.Errorf("slash %q = %+v; want a specific ephemeral usage message", text, body)
		}
	}
	body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "help")
	if body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "purge") {
		t.Errorf("help = %+v; want the help text", body)
	}
	if n := len(h.Fake.Requests()); n != 0 {
		t.Errorf("usage errors made %d Bytemark requests while being answered; want none", n)
	}
	h.marker()
	if posts := h.Slack.Calls("chat.postMessage"); len(posts) != 1 {
		t.Errorf("usage errors posted %d messages; want none (only the marker's result)\n%s", len(posts)-1, h.Slack.Dump())
	}
	for _, r := range h.Fake.Requests() {
		if !strings.HasSuffix(r.Path, "/session") && !strings.Contains(r.Path, "/db1") {
			t.Errorf("usage errors made a Bytemark request: %s %s; want none (only the marker's, for db1)", r.Method, r.Path)
		}
	}
}

// TestPurgeApproval is the whole approval flow: the card, no call before
// approval, the requester's own click refused, and twenty simultaneous
// clicks by an approver making exactly one purge.
func TestPurgeApproval(t *testing.T) {
	h := newHarness(t)
	// That the answer does not wait for Bytemark is TestSlowBytemark's.
	body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	if !strings.Contains(body.Text, "approval") {
		t.Errorf("purge reply = %q; want it to mention approval", body.Text)
	}
	b := h.WaitCard(1)
	cardPost := h.Slack.Find("chat.postMessage", b.Ticket)[0]
	cardText := cardPost.BlocksJSON()
	for _, want := range []string{"web1.default.acme", "root", "25 GiB", "sata", "<@" + bottest.UserAsker + ">", "0 of 1", "Approve", "Deny", "<!date^"} {
		if !strings.Contains(cardText, want) {
			t.Errorf("card lacks %q:\n%s", want, cardText)
		}
	}
	if srv, _ := h.Fake.Server("acme", "default", "web1"); len(srv.NetworkInterfaces) > 0 && len(srv.NetworkInterfaces[0].IPs) > 0 {
		if ip := srv.NetworkInterfaces[0].IPs[0]; !strings.Contains(cardText, ip) {
			t.Errorf("card lacks IP %s:\n%s", ip, cardText)
		}
	}
	if b.Channel != bottest.ChanOps || b.BlockID != slackui.BlockPrefix+bottest.ChanOps {
		t.Errorf("card posted to %q with block %q; want %q", b.Channel, b.BlockID, bottest.ChanOps)
	}
	if n := h.Purges("web1"); n != 0 {
		t.Fatalf("purge calls before approval = %d; want 0", n)
	}

	// The requester can't approve their own request.
	if code := h.Click(bottest.UserAsker, bottest.ChanOps, b, slackui.ActionApprove); code != http.StatusOK {
		t.Errorf("self-approve click = %d; want 200", code)
	}
	h.WaitFor("the refusal to the requester", func() bool {
		for _, c := range h.Slack.Calls("chat.postEphemeral") {
			if c.Form.Get("user") == bottest.UserAsker && strings.Contains(c.Form.Get("text"), "someone else") {
				return true
			}
		}
		return false
	})
	if n := h.Purges("web1"); n != 0 {
		t.Fatalf("purge calls after self-approval = %d; want 0", n)
	}

	// Twenty simultaneous clicks by an approver.
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() { codes[i] = h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("click %d = %d; want 200", i, c)
		}
	}
	// The outcome is posted in the card's thread.
	h.WaitFor("the result in the card's thread", func() bool {
		for _, c := range h.Slack.Calls("chat.postMessage") {
			if c.Form.Get("thread_ts") == b.TS && strings.Contains(c.Form.Get("text"), ":white_check_mark:") {
				return true
			}
		}
		return false
	})
	if n := h.Purges("web1"); n != 1 {
		t.Errorf("purge calls after 20 approvals = %d; want exactly 1", n)
	}
	if _, ok := h.Fake.Server("acme", "default", "web1"); ok {
		t.Errorf("web1 still exists after the purge")
	}
	// The card says who approved and has no buttons any more.
	h.WaitFor("the card updated with the approver and without buttons", func() bool {
		for _, c := range h.Slack.Calls("chat.update") {
			if c.Form.Get("ts") == b.TS && strings.Contains(c.BlocksJSON(), "Approved by <@"+bottest.UserAppr1+">") && !strings.Contains(c.BlocksJSON(), `"actions"`) {
				return true
			}
		}
		return false
	})

	h.WaitFor("the purge's metrics", func() bool {
		w := httptest.NewRecorder()
		h.Server.MetricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return strings.Contains(w.Body.String(), `bytebot_executions_total{action="purge",outcome="done"} 1`)
	})
	h.wantMetrics(
		`bytebot_approvals_total{outcome="requested"} 1`,
		`bytebot_approvals_total{outcome="approved"} 1`,
		`bytebot_approvals_total{outcome="refused"} 20`, // the requester's click and 19 after the decision
		`bytebot_commands_total{command="purge",outcome="approval"} 1`,
	)

	// The audit log has the request, the vote and the outcome.
	h.WaitFor("audit entries", func() bool {
		es, err := h.Store.AuditLog(context.Background(), "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var outcomes []string
		for _, e := range es {
			if e.Ticket == b.Ticket {
				outcomes = append(outcomes, e.Actor+":"+e.Outcome)
			}
		}
		all := strings.Join(outcomes, " ")
		return strings.Contains(all, bottest.UserAsker+":requested") && strings.Contains(all, bottest.UserAppr1+":approve") && strings.Contains(all, bottest.UserAsker+":done")
	})
}

// TestDenyAndExpiry checks that denied and expired tickets run nothing, and
// that their cards say so.
func TestDenyAndExpiry(t *testing.T) {
	t.Run("Deny", func(t *testing.T) {
		h := newHarness(t)
		h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
		b := h.WaitCard(1)
		if code := h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionDeny); code != http.StatusOK {
			t.Fatalf("deny = %d", code)
		}
		h.WaitFor("the denied card", func() bool {
			return len(h.Slack.Find("chat.update", "Denied by <@"+bottest.UserAppr1+">")) > 0
		})
		h.Click(bottest.UserAppr2, bottest.ChanOps, b, slackui.ActionApprove)
		h.WaitFor("the refusal of a late approval", func() bool {
			return len(h.Slack.Find("chat.postEphemeral", "This request was denied")) > 0
		})
		// The denial is said once: on the card, not again in its thread.
		if posts := h.Slack.Posts("Denied by"); len(posts) != 0 {
			t.Errorf("the denial was posted again (%d times), besides the card:\n%s", len(posts), h.Slack.Dump())
		}
		if n := h.Purges("web1"); n != 0 {
			t.Errorf("purge calls after deny = %d; want 0", n)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.ApprovalTTL = time.Second }))
		h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
		b := h.WaitCard(1)
		h.WaitFor("the expired card", func() bool {
			for _, c := range h.Slack.Calls("chat.update") {
				if c.Form.Get("ts") == b.TS && strings.Contains(c.BlocksJSON(), "Expired") && !strings.Contains(c.BlocksJSON(), `"actions"`) {
					return true
				}
			}
			return false
		})
		h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
		h.WaitFor("the refusal of a late approval", func() bool {
			return len(h.Slack.Find("chat.postEphemeral", "expired")) > 0 || len(h.Slack.Find("chat.postEphemeral", "already been decided")) > 0
		})
		if n := h.Purges("web1"); n != 0 {
			t.Errorf("purge calls after expiry = %d; want 0", n)
		}
	})
}

// TestRefusedClicks checks clicks that must change nothing: by a
// non-approver, and from another channel.
func TestRefusedClicks(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	b := h.WaitCard(1)

	h.Click(bottest.UserOther, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitFor("the refusal of a non-approver", func() bool {
		return len(h.Slack.Find("chat.postEphemeral", "aren't one of the approvers")) > 0
	})
	h.Click(bottest.UserAppr1, bottest.ChanOther, b, slackui.ActionApprove)
	h.WaitFor("the refusal of a click from another channel", func() bool {
		return len(h.Slack.Find("chat.postEphemeral", "another channel")) > 0
	})
	t2, err := h.Store.Get(context.Background(), b.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if t2.State != approvals.StatePending || len(t2.Approvers) != 0 {
		t.Errorf("ticket after refused clicks = %s with %v; want pending with no approvals", t2.State, t2.Approvers)
	}
	if n := len(h.Slack.Calls("chat.update")); n != 0 {
		t.Errorf("refused clicks updated the card %d times", n)
	}
	if n := h.Purges("web1"); n != 0 {
		t.Errorf("purge calls = %d; want 0", n)
	}
}

// TestQuorumTwo checks that with two approvals required one is not enough.
func TestQuorumTwo(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.ApprovalsRequired = 2 }))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b := h.WaitCard(1)
	h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitFor("the card showing one approval", func() bool {
		for _, c := range h.Slack.Calls("chat.update") {
			if strings.Contains(c.BlocksJSON(), "1 of 2") && strings.Contains(c.BlocksJSON(), `"actions"`) {
				return true
			}
		}
		return false
	})
	if n := h.Purges("web2"); n != 0 {
		t.Fatalf("purge calls after one of two approvals = %d; want 0", n)
	}
	h.Click(bottest.UserAppr2, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitFor("the purge", func() bool { return h.Purges("web2") == 1 })
	h.WaitPost(":white_check_mark:", "web2")
}

// TestCancel checks that only the requester can cancel, and that a
// cancelled ticket runs nothing.
func TestCancel(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	b := h.WaitCard(1)

	body := h.MustSlash(bottest.UserOther, bottest.ChanOps, "cancel "+b.Ticket)
	if !strings.Contains(body.Text, "Only the person who asked") {
		t.Errorf("cancel by someone else = %q", body.Text)
	}
	body = h.MustSlash(bottest.UserAsker, bottest.ChanOps, "approvals")
	if !strings.Contains(body.Text, b.Ticket) {
		t.Errorf("approvals = %q; want it to list %s", body.Text, b.Ticket)
	}
	body = h.MustSlash(bottest.UserAsker, bottest.ChanOps, "cancel "+b.Ticket)
	if !strings.Contains(body.Text, "Cancelled") {
		t.Errorf("cancel by the requester = %q", body.Text)
	}
	h.WaitFor("the cancelled card", func() bool {
		return len(h.Slack.Find("chat.update", "Cancelled by")) > 0
	})
	h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitFor("the refusal of an approval after cancel", func() bool {
		return len(h.Slack.Find("chat.postEphemeral", "This request was cancelled")) > 0
	})
	if n := h.Purges("web1"); n != 0 {
		t.Errorf("purge calls after cancel = %d; want 0", n)
	}
	body = h.MustSlash(bottest.UserAsker, bottest.ChanOps, "approvals")
	if strings.Contains(body.Text, b.Ticket) {
		t.Errorf("approvals after cancel = %q; still lists %s", body.Text, b.Ticket)
	}
	body = h.MustSlash(bottest.UserAsker, bottest.ChanOps, "audit web1")
	if !strings.Contains(body.Text, "cancelled") {
		t.Errorf("audit web1 = %q; want the cancellation", body.Text)
	}
}

// TestSnapshotMismatch checks that a server changed between the card and
// the approval is not purged, and that the request is asked again.
func TestSnapshotMismatch(t *testing.T) {
	h := newHarness(t)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	b := h.WaitCard(1)
	if _, err := h.Cloud.AddDisc(context.Background(), "web1", bytemark.DiscSpec{Label: "extra", SizeMiB: 20480, StorageGrade: "sata"}); err != nil {
		t.Fatalf("adding a disc behind the approvers' backs: %v", err)
	}
	h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitPost("changed", "Asking again")
	b2 := h.WaitCard(2)
	if b2.Ticket == b.Ticket {
		t.Errorf("re-asked with the same ticket %s", b.Ticket)
	}
	if card := h.Slack.Find("chat.postMessage", b2.Ticket)[0].BlocksJSON(); !strings.Contains(card, "extra") {
		t.Errorf("new card doesn't show the new disc:\n%s", card)
	}
	if n := h.Purges("web1"); n != 0 {
		t.Fatalf("purge calls after a changed server = %d; want 0", n)
	}
	// The new card, approved, purges.
	h.Click(bottest.UserAppr1, bottest.ChanOps, b2, slackui.ActionApprove)
	h.WaitFor("the purge", func() bool { return h.Purges("web1") == 1 })
}

// TestSnapshotReplacedDisc checks that a disc purged and added again with
// the same label, size and grade after the card was posted is not the disc
// the approvers agreed to destroy: the approval is refused and re-asked.
func TestSnapshotReplacedDisc(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "disc purge db1 data")
	b := h.WaitCard(1)
	if err := h.Cloud.PurgeDisc(ctx, "db1", "data"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Cloud.AddDisc(ctx, "db1", bytemark.DiscSpec{Label: "data", SizeMiB: 102400, StorageGrade: "ssd"}); err != nil {
		t.Fatal(err)
	}
	purges := h.Purges("db1")
	h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitPost("changed", "Asking again")
	h.WaitCard(2)
	if n := h.Purges("db1"); n != purges {
		t.Fatalf("disc purge calls after the disc was replaced = %d; want %d", n, purges)
	}
}

// TestReclaimedPurge checks that a reclaimed purge job whose server is
// already gone reports so and does not purge again.
func TestReclaimedPurge(t *testing.T) {
	h := newHarness(t, bottest.WithoutExecutor())
	ctx := context.Background()
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge db1")
	// Without the executor, run the "ask" job by hand.
	job, err := h.Store.Claim(ctx, "test", time.Second)
	if err != nil || job == nil {
		t.Fatalf("Claim = %v, %v", job, err)
	}
	h.Server.Execute(ctx, "test", job)
	b := h.WaitCard(1)
	h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	job, err = h.Store.Claim(ctx, "test", time.Second)
	if err != nil || job == nil || job.TicketID != b.Ticket {
		t.Fatalf("Claim = %+v, %v; want the approved job", job, err)
	}
	// A first attempt purged the server and died before reporting.
	if err := h.Cloud.PurgeServer(ctx, "db1"); err != nil {
		t.Fatal(err)
	}
	h.Store.Once(ctx, "exec:"+b.Ticket, time.Hour)
	job.Retry = true
	h.Server.Execute(ctx, "test", job)
	h.WaitPost("already purged")
	if n := h.Purges("db1"); n != 1 {
		t.Errorf("purge calls = %d; want only the first attempt's 1", n)
	}
}

// TestSlowBytemark checks that Slack gets its answer without waiting for
// the Bytemark API (which takes ten seconds here): no Bytemark request is
// answered while Slack waits (a read, which runs in the process that
// received it, may have started its own). How long an answer takes is
// measured by the benchmarks (bench_test.go), not budgeted here.
func TestSlowBytemark(t *testing.T) {
	h := newHarness(t, bottest.WithoutExecutor())
	h.Fake.SetLatency(10 * time.Second)
	defer h.Fake.SetLatency(0) // lets the reads finish
	for _, text := range []string{"show web1", "restart web1", "purge web1", "list"} {
		w, body := h.Slash(bottest.UserAsker, bottest.ChanOps, text)
		if w.Code != http.StatusOK || body.Text == "" {
			t.Errorf("slash %q = %d %+v", text, w.Code, body)
		}
		for _, r := range h.Fake.Requests() {
			if r.Status != 0 && !strings.HasSuffix(r.Path, "/session") {
				t.Errorf("slash %q answered after Bytemark answered %s %s (%d); want the answer first", text, r.Method, r.Path, r.Status)
			}
		}
	}
}

// TestSlowBytemarkWithExecutor is TestSlowBytemark with the executor
// running, so that the slow calls happen while Slack waits for nothing:
// Slack has its answer while no Bytemark API request has been answered.
func TestSlowBytemarkWithExecutor(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ten seconds")
	}
	h := newHarness(t)
	h.Fake.SetLatency(10 * time.Second)
	w, _ := h.Slash(bottest.UserAsker, bottest.ChanOps, "show web1")
	if w.Code != http.StatusOK {
		t.Errorf("show web1 = %d; want 200", w.Code)
	}
	// The job's first API request, held for ten seconds: had Slack's answer
	// waited for the job, it would have been answered by now.
	var first bytemarktest.Request
	h.WaitFor("the job's first Bytemark API request", func() bool {
		for _, r := range h.Fake.Requests() {
			if !strings.HasSuffix(r.Path, "/session") {
				first = r
				return true
			}
		}
		return false
	})
	if first.Status != 0 {
		t.Errorf("Slack was answered after Bytemark answered %s %s (%d); want the answer first", first.Method, first.Path, first.Status)
	}
	h.Fake.SetLatency(0)
	h.waitAnswer("web1.default.acme")
}

// TestAllowlists checks ALLOWED_USERS (with a user group) and
// ALLOWED_CHANNELS.
func TestAllowlists(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) {
		c.AllowedUsers = []string{bottest.UserAsker, "S0TEAM001"}
		c.AllowedChannels = []string{bottest.ChanOps}
	}))
	h.Slack.SetGroup("S0TEAM001", "UTEAMMATE")

	body := h.MustSlash(bottest.UserOther, bottest.ChanOps, "list")
	if body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "aren't allowed") {
		t.Errorf("list by a stranger = %+v", body)
	}
	body = h.MustSlash(bottest.UserAsker, bottest.ChanOther, "list")
	if body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "channel") {
		t.Errorf("list in another channel = %+v", body)
	}
	body = h.MustSlash("UTEAMMATE", bottest.ChanOps, "list")
	if !strings.Contains(body.Text, "Working on") {
		t.Errorf("list by a group member = %+v; want it accepted", body)
	}
	h.MustSlash("UTEAMMATE", bottest.ChanOps, "list") // from the cache
	if n := len(h.Slack.Calls("usergroups.users.list")); n != 1 {
		t.Errorf("usergroups.users.list called %d times; want 1 (cached)", n)
	}
	h.waitAnswer("web1")
	h.WaitFor("both accepted lists answered", func() bool { return len(h.Slack.Find("response_url", "web1")) == 2 })
	if n := len(h.Slack.Find("response_url", "web1")) + len(h.Slack.Posts("web1")); n > 2 {
		t.Errorf("refused commands ran: %d list results", n)
	}
}

// TestApproverGroup checks that approvers can be a user group.
func TestApproverGroup(t *testing.T) {
	h := newHarness(t, bottest.WithConfig(func(c *bot.Config) { c.Approvers = []string{"S0ADMINS1"} }))
	h.Slack.SetGroup("S0ADMINS1", bottest.UserAppr2)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	b := h.WaitCard(1)
	h.Click(bottest.UserAppr1, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitFor("the refusal of a non-member", func() bool {
		return len(h.Slack.Find("chat.postEphemeral", "aren't one of the approvers")) > 0
	})
	h.Click(bottest.UserAppr2, bottest.ChanOps, b, slackui.ActionApprove)
	h.WaitFor("the purge", func() bool { return h.Purges("web2") == 1 })
}

// TestRateLimitedResult checks that a result is posted even when Slack
// answers 429 first.
func TestRateLimitedResult(t *testing.T) {
	h := newHarness(t)
	h.Slack.RateLimit("chat.postMessage", 1, time.Second)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "restart web1")
	h.WaitPost("web1", "restarted")
	calls := h.Slack.Calls("")
	var limited, posted time.Time
	for _, c := range calls {
		switch c.Method {
		case "chat.postMessage (429)":
			limited = c.At
		case "chat.postMessage":
			posted = c.At
		}
	}
	if limited.IsZero() || posted.Sub(limited) < time.Second {
		t.Errorf("posted %s after the 429; want at least Retry-After (1s)", posted.Sub(limited))
	}
	h.wantMetrics(`bytebot_slack_api_errors_total{error="ratelimited",method="chat.postMessage"} 1`)
}

// wantMetrics checks that /metrics has every line.
func (h *harness) wantMetrics(lines ...string) {
	h.T.Helper()
	w := httptest.NewRecorder()
	h.Server.MetricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, l := range lines {
		if !strings.Contains(w.Body.String(), l+"\n") {
			h.T.Errorf("/metrics lacks %s", l)
		}
	}
}

// TestHealthReadyMetrics checks the operational routes.
func TestHealthReadyMetrics(t *testing.T) {
	clock := &testClock{now: time.Now()}
	h := newHarness(t, bottest.WithNow(clock.Now))
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "help")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "list")
	h.waitAnswer("web1")
	// /metrics is not on the public routes: MetricsHandler serves it.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 404} {
		w := httptest.NewRecorder()
		h.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("GET %s = %d; want %d", path, w.Code, want)
		}
	}
	// The result is posted before the job is counted: wait for the count.
	var body []byte
	h.WaitFor("the list job counted in /metrics", func() bool {
		w := httptest.NewRecorder()
		h.Server.MetricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET /metrics on the metrics handler = %d; want 200", w.Code)
		}
		body, _ = io.ReadAll(w.Body)
		return strings.Contains(string(body), `bytebot_executions_total{action="list",outcome="done"} 1`)
	})
	for _, want := range []string{
		`bytebot_commands_total{command="help",outcome="ok"} 1`,
		`bytebot_commands_total{command="list",outcome="queued"} 1`,
		`bytebot_executions_total{action="list",outcome="done"} 1`,
		`bytebot_bytemark_api_duration_seconds_bucket`,
		`bytebot_http_requests_total{code="200",route="commands"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), bottest.SigningSecret) || strings.Contains(string(body), "xoxb-test") {
		t.Errorf("/metrics shows a secret")
	}
	h.Fake.Close()
	// The last Bytemark check stands for ReadyEvery (10s)...
	w := httptest.NewRecorder()
	h.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusOK {
		t.Errorf("/readyz right after a good check = %d %q; want 200 (the check is cached)", w.Code, w.Body.String())
	}
	// ...then Bytemark is asked again.
	clock.advance(10 * time.Second)
	w = httptest.NewRecorder()
	h.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "bytemark") {
		t.Errorf("/readyz with Bytemark down = %d %q; want 503 naming bytemark", w.Code, w.Body.String())
	}
}
