package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/internal/bottest"
)

// TestRebootCycleCountsAsStop: with APPROVAL_ACTIONS=stop, typing
// `reboot web1 cycle` (which pulls the plug) must not get round the rule:
// it asks for approval and nothing is written to Bytemark until then. The
// same holds for an automatic reboot by power cycle from monitoring
// (bot/monitor's test of the same name).
func TestRebootCycleCountsAsStop(t *testing.T) {
	h := newHarness(t, bottest.WithPolicy(t, "stop"))
	writes := h.Writes()
	body := h.MustSlash(bottest.UserAsker, bottest.ChanOps, "reboot web1 cycle")
	if !strings.Contains(body.Text, "needs approval") {
		t.Errorf("reboot web1 cycle with APPROVAL_ACTIONS=stop answered %q; want it to need approval", body.Text)
	}
	h.WaitCard(1)
	if got := h.Writes(); got != writes {
		t.Errorf("reboot web1 cycle wrote %d times to Bytemark before any approval", got-writes)
	}
	// A reset is neither a stop nor a start: it runs at once.
	body = h.MustSlash(bottest.UserAsker, bottest.ChanOps, "reboot web2 reset")
	if strings.Contains(body.Text, "needs approval") {
		t.Errorf("reboot web2 reset with APPROVAL_ACTIONS=stop answered %q; want it to run", body.Text)
	}
	h.WaitPost(":white_check_mark:", "web2", "rebooted by reset")
	// Monitoring, rebooting by power cycle: monitor.TestRebootCycleCountsAsStop.
}

// hostileCloud adds an address of its choosing to every server the API
// returns, as a Bytemark API (or a proxy in front of it) could.
type hostileCloud struct {
	bot.Cloud
	mu sync.Mutex
	ip string
}

func (c *hostileCloud) setIP(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ip = ip
}

func (c *hostileCloud) add(s *bytemark.Server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(s.NetworkInterfaces) > 0 {
		nic := &s.NetworkInterfaces[0]
		nic.IPs = append(append([]string(nil), nic.IPs...), c.ip)
	}
}

func (c *hostileCloud) GetServer(ctx context.Context, name string) (*bytemark.Server, error) {
	s, err := c.Cloud.GetServer(ctx, name)
	if s != nil {
		c.add(s)
	}
	return s, err
}

func (c *hostileCloud) ListServers(ctx context.Context, group string) ([]bytemark.Server, error) {
	ss, err := c.Cloud.ListServers(ctx, group)
	for i := range ss {
		c.add(&ss[i])
	}
	return ss, err
}

// TestOutsideTextIsEscaped: every string from the Bytemark API (zone, IP
// addresses, disc labels and grades) reaches Slack escaped, in results,
// cards and reports alike: none of them can ping the channel, mention
// someone or make a link. Monitoring's (alert names, summaries): bot/monitor's
// TestOutsideTextIsEscaped.
func TestOutsideTextIsEscaped(t *testing.T) {
	hc := &hostileCloud{ip: "<!here>"}
	h := newHarness(t, bottest.WithCloud(func(c bot.Cloud) bot.Cloud { hc.Cloud = c; return hc }))
	if _, err := h.Fake.AddServer("acme", "default", bytemark.Server{Name: "evil1", PowerOn: true, ZoneName: "york <!channel> & co",
		Discs: []bytemark.Disc{
			{Label: "root<@U123>", Size: 25600, StorageGrade: "sata<!everyone>"},
			{Label: "data", Size: 51200, StorageGrade: "*bold* & <https://evil.example|click>"},
		}}); err != nil {
		t.Fatal(err)
	}

	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "show evil1")
	h.waitAnswer("evil1.default.acme is on")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "discs evil1")
	h.waitAnswer("evil1.default.acme has 2 discs")
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge evil1")
	card := h.WaitCard(1)
	// The server changes before the vote: the refusal says how.
	hc.setIP("<!subteam^S123>")
	h.Click(bottest.UserAppr1, bottest.ChanOps, card, slackui.ActionApprove)
	h.WaitPost("changed since the approvers saw it")
	h.WaitCard(2)

	entities := strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "")
	seen := map[string]bool{}
	for _, c := range h.Slack.Calls("") {
		all := c.Form.Get("text") + "\n" + c.BlocksJSON()
		for _, raw := range []string{"<!channel>", "<!here>", "<!everyone>", "<!subteam^S123>", "<@U123>", "<https://evil"} {
			if strings.Contains(all, raw) {
				t.Errorf("%s carries %s unescaped:\n%s", c.Method, raw, all)
			}
		}
		if rest := entities.Replace(all); strings.Contains(rest, "&") {
			t.Errorf("%s carries a bare &:\n%s", c.Method, all)
		}
		for _, want := range []string{"&lt;!channel&gt; &amp; co", "&lt;!here&gt;", "&lt;!everyone&gt;", "&lt;!subteam^S123&gt;",
			"root&lt;@U123&gt;"} {
			if strings.Contains(all, want) {
				seen[want] = true
			}
		}
	}
	for _, want := range []string{"&lt;!channel&gt; &amp; co", "&lt;!here&gt;", "&lt;!everyone&gt;", "&lt;!subteam^S123&gt;",
		"root&lt;@U123&gt;"} {
		if !seen[want] {
			t.Errorf("no Slack message shows %q (escaped); Slack calls:\n%s", want, h.Slack.Dump())
		}
	}
}

// testClock is a clock that moves only when told.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestStaleGroupMembershipStopsCounting: membership of an approvers' user
// group read from Slack counts for an hour (USERGROUP_MAX_AGE) while Slack
// can't be asked again; after that it stops counting, and the voter is
// told why.
func TestStaleGroupMembershipStopsCounting(t *testing.T) {
	clock := &testClock{now: time.Now()}
	h := newHarness(t, bottest.WithNow(clock.Now), bottest.WithConfig(func(c *bot.Config) { c.Approvers = []string{"S0ADMINS1"} }))
	h.Slack.SetGroup("S0ADMINS1", bottest.UserAppr2)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	card1 := h.WaitCard(1)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "purge web2")
	card2 := h.WaitCard(2)

	// A non-member's vote reads the group from Slack.
	h.Click(bottest.UserAppr1, bottest.ChanOps, card1, slackui.ActionApprove)
	h.WaitFor("the refusal of a non-member", func() bool {
		return len(h.Slack.Find("chat.postEphemeral", "aren't one of the approvers")) > 0
	})
	h.Slack.FailWith("usergroups.users.list", "missing_scope") // not retried: the vote answers at once

	// Half an hour later Slack fails: what it said half an hour ago counts.
	clock.advance(30 * time.Minute)
	h.Click(bottest.UserAppr2, bottest.ChanOps, card1, slackui.ActionApprove)
	h.WaitFor("the purge of web1", func() bool { return h.Purges("web1") == 1 })

	// Over an hour later it no longer does, and the voter is told why.
	clock.advance(31 * time.Minute)
	before := len(h.Slack.Calls("usergroups.users.list"))
	h.Click(bottest.UserAppr2, bottest.ChanOps, card2, slackui.ActionApprove)
	refusal := "I couldn't check the membership of <!subteam^S0ADMINS1> with Slack for over an hour"
	h.WaitFor("the refusal of stale membership", func() bool {
		return len(h.Slack.Find("chat.postEphemeral", refusal)) > 0
	})
	if len(h.Slack.Calls("usergroups.users.list")) == before {
		t.Errorf("the vote didn't ask Slack for the group's members again")
	}
	if tk, err := h.Store.Get(context.Background(), card2.Ticket); err != nil || len(tk.Approvers) != 0 {
		t.Errorf("ticket after the refused vote = %+v, %v; want no approvals", tk, err)
	}

	// Slack answers again: the vote counts.
	h.Slack.FailWith("usergroups.users.list", "")
	h.Click(bottest.UserAppr2, bottest.ChanOps, card2, slackui.ActionApprove)
	h.WaitFor("the purge of web2", func() bool { return h.Purges("web2") == 1 })
	if n := len(h.Slack.Find("chat.postEphemeral", refusal)); n != 1 {
		t.Errorf("%d refusals for stale membership; want 1", n)
	}
}

// TestReadyzAsksBytemarkAtMostEvery10s: /readyz can be asked by anyone, as
// often as they like; the Bytemark API is asked at most once per 10s, and
// askers who come together share one check.
func TestReadyzAsksBytemarkAtMostEvery10s(t *testing.T) {
	clock := &testClock{now: time.Now()}
	h := newHarness(t, bottest.WithNow(clock.Now), bottest.WithoutExecutor())
	pings := func() int {
		n := 0
		for _, r := range h.Fake.Requests() {
			if r.Method == http.MethodGet && r.Path == "/accounts" {
				n++
			}
		}
		return n
	}
	readyz := func() int {
		w := httptest.NewRecorder()
		h.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return w.Code
	}
	before := pings()
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() { codes[i] = readyz() })
	}
	wg.Wait()
	for i := range 50 {
		if c := readyz(); c != http.StatusOK || codes[i] != http.StatusOK {
			t.Fatalf("/readyz = %d, %d; want 200", codes[i], c)
		}
	}
	if got := pings() - before; got != 1 {
		t.Errorf("100 /readyz asked Bytemark %d times; want 1", got)
	}
	clock.advance(9 * time.Second)
	readyz()
	if got := pings() - before; got != 1 {
		t.Errorf("after 9s /readyz asked Bytemark %d times in all; want still 1", got)
	}
	clock.advance(time.Second)
	readyz()
	if got := pings() - before; got != 2 {
		t.Errorf("after 10s /readyz asked Bytemark %d times in all; want 2", got)
	}
}

// TestStaleGroupMembershipAllowlist: the same age limit holds for a user
// group in ALLOWED_USERS, and the refusal says why.
func TestStaleGroupMembershipAllowlist(t *testing.T) {
	clock := &testClock{now: time.Now()}
	h := newHarness(t, bottest.WithNow(clock.Now), bottest.WithoutExecutor(), bottest.WithConfig(func(c *bot.Config) { c.AllowedUsers = []string{"S0TEAM001"} }))
	h.Slack.SetGroup("S0TEAM001", "UTEAMMATE")
	if body := h.MustSlash("UTEAMMATE", bottest.ChanOps, "help"); strings.Contains(body.Text, "Sorry") {
		t.Fatalf("help by a member = %q; want it answered", body.Text)
	}
	h.Slack.FailWith("usergroups.users.list", "missing_scope")
	clock.advance(59 * time.Minute)
	if body := h.MustSlash("UTEAMMATE", bottest.ChanOps, "help"); strings.Contains(body.Text, "Sorry") {
		t.Errorf("help by a member 59 min after the last read = %q; want it answered", body.Text)
	}
	clock.advance(2 * time.Minute)
	body := h.MustSlash("UTEAMMATE", bottest.ChanOps, "help")
	if !strings.Contains(body.Text, "I couldn't check the membership of <!subteam^S0TEAM001> with Slack for over an hour") {
		t.Errorf("help by a member 61 min after the last read = %q; want a refusal saying why", body.Text)
	}
}
