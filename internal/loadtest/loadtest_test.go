package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/internal/slacktest"
)

func TestPercentile(t *testing.T) {
	var vs []time.Duration
	for i := 1; i <= 1000; i++ {
		vs = append(vs, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 500 * time.Millisecond}, {99, 990 * time.Millisecond}, {99.9, 999 * time.Millisecond}, {100, time.Second}, {0, time.Millisecond}} {
		if got := percentile(vs, c.p); got != c.want {
			t.Errorf("p%g of 1..1000 ms = %s, want %s", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %s, want 0", got)
	}
	one := []time.Duration{7}
	if percentile(one, 50) != 7 || percentile(one, 99.9) != 7 {
		t.Error("a single value is every percentile")
	}
	// 10 values: p99 and p99.9 are the largest (nearest rank), p50 the 5th.
	ten := vs[:10]
	if percentile(ten, 50) != 5*time.Millisecond || percentile(ten, 99) != 10*time.Millisecond {
		t.Errorf("p50, p99 of 1..10 ms = %s, %s", percentile(ten, 50), percentile(ten, 99))
	}
}

func TestSummarize(t *testing.T) {
	start := time.Unix(1000, 0)
	r := runResult{Start: start, Finished: start.Add(2 * time.Second), Samples: []sample{
		{Latency: 3 * time.Millisecond}, {Latency: 1 * time.Millisecond}, {Latency: 2 * time.Millisecond, Err: "HTTP 500"},
		{Latency: 4 * time.Millisecond}, {Latency: -1, Err: "not sent"},
	}}
	st := summarize(r)
	if st.N != 5 || st.OK != 3 || st.Errors != 2 {
		t.Errorf("n, ok, errors = %d, %d, %d; want 5, 3, 2", st.N, st.OK, st.Errors)
	}
	if st.ErrorKinds["HTTP 500"] != 1 || st.ErrorKinds["not sent"] != 1 {
		t.Errorf("error kinds %v", st.ErrorKinds)
	}
	// Failed requests count in the percentiles; unsent ones have no latency.
	if st.P50 != 2*time.Millisecond || st.Max != 4*time.Millisecond {
		t.Errorf("p50, max = %s, %s; want 2ms, 4ms", st.P50, st.Max)
	}
	if st.Throughput != 1.5 {
		t.Errorf("throughput %g/s, want 1.5 (3 ok in 2 s)", st.Throughput)
	}
}

func TestSchedule(t *testing.T) {
	if got := schedule(0, 1000); got != 0 {
		t.Errorf("first request due at %s", got)
	}
	if got := schedule(1, 1000); got != time.Millisecond {
		t.Errorf("request 1 at 1000/s due at %s, want 1ms", got)
	}
	if got := schedule(2999, 3000); got != 999666667*time.Nanosecond {
		t.Errorf("request 2999 at 3000/s due at %s", got)
	}
	if got := schedule(7, 3); got != 2333333333*time.Nanosecond {
		t.Errorf("request 7 at 3/s due at %s", got)
	}
	// Evenly spaced: no drift however long the run.
	if got := schedule(80000, 8000); got != 10*time.Second {
		t.Errorf("request 80000 at 8000/s due at %s, want 10s", got)
	}
	if count(1000, 10*time.Second) != 10000 || count(50, time.Second) != 50 || count(0.1, time.Second) != 1 {
		t.Error("count is rate × duration, at least 1")
	}
}

// The signature itself is internal/slacktest's, tested there against
// Slack's vector and slack-go's verifier.

func TestSlashBodyParses(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(string(slashBody(userID, "purge web1", 7, ""))))
	r.Header.Set("Content-Type", formType)
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Command != "/bytemark" || sc.Text != "purge web1" || sc.UserID != userID || sc.ChannelID != channelID || sc.TriggerID == "" {
		t.Errorf("parsed %+v", sc)
	}
}

func TestClickBodyParses(t *testing.T) {
	tk := ticket{Ticket: "TK42", BlockID: "approval:" + channelID, Channel: channelID, TS: "1700000000.000042"}
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(clickBody(nil, tk, approverID, 3))))
	r.Header.Set("Content-Type", formType)
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != approverID || ic.Container.ChannelID != channelID || ic.Container.MessageTs != tk.TS {
		t.Errorf("parsed type %q user %q container %+v", ic.Type, ic.User.ID, ic.Container)
	}
	acts := ic.ActionCallback.BlockActions
	if len(acts) != 1 || acts[0].ActionID != "approve" || acts[0].Value != "TK42" || acts[0].BlockID != tk.BlockID {
		t.Errorf("actions %+v", acts)
	}
}

func TestAlertBody(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for i := range 3 {
		var m slacktest.AlertmanagerMessage
		if err := json.Unmarshal(alertBody("bytemark_server", 100, i, base), &m); err != nil {
			t.Fatal(err)
		}
		if m.Version != "4" || m.Status != "firing" || len(m.Alerts) != 100 {
			t.Fatalf("delivery %d: version %q status %q, %d alerts", i, m.Version, m.Status, len(m.Alerts))
		}
		for k, a := range m.Alerts {
			if a.Labels["bytemark_server"] != alertServers[(i+k)%len(alertServers)] || len(a.Fingerprint) != 16 {
				t.Fatalf("alert %d/%d: labels %v fingerprint %q", i, k, a.Labels, a.Fingerprint)
			}
			key := a.Fingerprint + a.StartsAt
			if seen[key] {
				t.Fatalf("alert %d/%d repeats occurrence %s", i, k, key)
			}
			seen[key] = true
		}
	}
}

// The stand-in answers slack-go as Slack would and collects the Approve
// buttons of the cards posted through it.
func TestSlackStub(t *testing.T) {
	s, err := startSlackStub()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	api := slack.New("xoxb-test", slack.OptionAPIURL(s.url), slack.OptionHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	ctx := context.Background()
	approve := slack.NewButtonBlockElement("approve", "TK1", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
	deny := slack.NewButtonBlockElement("deny", "TK1", slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false))
	s.startCollecting()
	ch, ts, err := api.PostMessageContext(ctx, channelID,
		slack.MsgOptionText("Approval needed: purge db1 (requested by <@U0REQ>, ticket TK1)", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("approval:"+channelID, approve, deny)))
	if err != nil || ch != channelID || ts == "" {
		t.Fatalf("postMessage: %q %q %v", ch, ts, err)
	}
	if _, _, err := api.PostMessageContext(ctx, channelID, slack.MsgOptionText("just text", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, channelID, ts, slack.MsgOptionText("updated", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := api.PostEphemeralContext(ctx, channelID, "U1", slack.MsgOptionText("psst", false)); err != nil {
		t.Fatalf("ephemeral: %v", err)
	}
	s.SetGroup("S1") // APPROVERS names no group in a run; an empty one answers as Slack does
	if _, err := api.GetUserGroupMembersContext(ctx, "S1"); err != nil {
		t.Fatalf("usergroups.users.list: %v", err)
	}
	got := s.collected("U0REQ")
	want := ticket{Ticket: "TK1", BlockID: "approval:" + channelID, Channel: channelID, TS: ts, Requester: "U0REQ"}
	if len(got) == 1 { // what a click needs; the card's text and blocks come along
		got[0].Text, got[0].Blocks = "", ""
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("collected %+v, want [%+v]", got, want)
	}
	if n := s.methodCounts()["chat.postMessage"]; n != 2 {
		t.Errorf("%d postMessage calls counted, want 2", n)
	}
}

// A target slower than the arrival rate: every request waits for the ones
// before it, and that wait is counted (open loop), though at most one is
// in flight.
func TestRunCountsQueueing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(10 * time.Millisecond) // the target's service time
	}))
	defer srv.Close()
	cfg := runConfig{Base: srv.URL, Rate: 1000, Concurrency: 1, N: 20}
	res := run(context.Background(), newRawClient(5*time.Second), cfg, load{Make: func(i int) request { return request{Path: "/", ContentType: formType} }})
	st := summarize(res)
	if st.Errors != 0 {
		t.Fatalf("errors: %v", st.ErrorKinds)
	}
	// Request 19 is due at 19 ms but starts after 19 others of ≥10 ms each.
	if last := res.Samples[19].Latency; last < 19*10*time.Millisecond-19*time.Millisecond {
		t.Errorf("last request's latency %s: the queueing was not counted", last)
	}
	if st.Max < 150*time.Millisecond {
		t.Errorf("max %s, want the queueing delay in it", st.Max)
	}
}

func TestRunErrorsAndChecks(t *testing.T) {
	var seq atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Header.Get("X-Slack-Signature") == "" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch seq.Add(1) % 3 {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
		case 1:
			io.WriteString(w, `{"response_type":"in_channel","text":"Working on it"}`)
		case 2:
			io.WriteString(w, `{"response_type":"ephemeral","text":"The bot is temporarily unavailable"}`)
		}
	}))
	defer srv.Close()
	cfg := runConfig{Base: srv.URL, Rate: 2000, Concurrency: 1, N: 30, Secret: "x"}
	l := load{Sign: true, Make: func(i int) request {
		return request{Path: "/", ContentType: formType, Bearer: "tok", Check: checkQueued}
	}}
	st := summarize(run(context.Background(), newRawClient(5*time.Second), cfg, l))
	if st.OK != 10 || st.ErrorKinds["HTTP 500"] != 10 || st.Errors != 20 {
		t.Errorf("ok %d, errors %v; want 10 ok, 10 HTTP 500, 10 unexpected answers", st.OK, st.ErrorKinds)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick"}, io.Discard)
	if err != nil || o.Duration != time.Second || len(o.Rates) != 3 || len(o.Alert100) != 2 {
		t.Errorf("-quick: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"-quick", "-rates", "100,200"}, io.Discard)
	if err != nil || len(o.Rates) != 2 {
		t.Errorf("-quick -rates 100,200: %v, %v", o.Rates, err)
	}
	for _, bad := range [][]string{{"-rates", "2000,1000"}, {"-rates", "x"}, {"-click-rate", "0"}, {"-alert100-rates", "0"}, {"-only", "nope"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestKnee(t *testing.T) {
	r := newReport(options{})
	mk := func(rate float64, p99 time.Duration, errs int, tput float64) *stepResult {
		return &stepResult{Scenario: "show web1", Rate: rate, Floor: stats{P99: time.Millisecond},
			Bot: &stats{P99: p99, Errors: errs, Throughput: tput}}
	}
	r.Steps = []*stepResult{
		mk(500, 2*time.Millisecond, 0, 500), mk(1000, 3*time.Millisecond, 0, 1000),
		mk(2000, 20*time.Millisecond, 0, 1990), mk(3000, 80*time.Millisecond, 0, 2500),
	}
	r.finish()
	if r.Knee != 2000 {
		t.Errorf("knee %g, want 2000", r.Knee)
	}
	// At 1000/s: p99 3 ms is 3× the floor's 1 ms: a miss.
	if r.Targets[0].Pass || !r.Targets[0].Measured {
		t.Errorf("ack target %+v", r.Targets[0])
	}
	if !r.Targets[2].Pass {
		t.Errorf("knee target %+v", r.Targets[2])
	}
}

// The client keeps connections alive and reuses them, closes the ones the
// server asks to close, and sends again (once) on a fresh connection when a
// reused one turns out to have been closed by the server while idle.
func TestRawClient(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Close") != "" {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("X-Got", r.Header.Get("X-Test"))
		w.WriteHeader(http.StatusAccepted)
		w.Write(append([]byte("echo:"), b...))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c := newRawClient(5 * time.Second)
	defer c.closeIdle()
	for i := range 20 {
		resp, err := c.do(host, "/x", []header{{"X-Test", "1"}}, []byte("hello"))
		if err != nil || resp.Status != http.StatusAccepted || string(resp.Body) != "echo:hello" {
			t.Fatalf("request %d: %+v %v", i, resp, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d connections, want 1", n)
	}
	if resp, err := c.do(host, "/x", []header{{"X-Close", "1"}}, nil); err != nil || resp.Status != http.StatusAccepted {
		t.Fatalf("Connection: close answer: %+v %v", resp, err)
	}
	if n := c.open(host); n != 0 {
		t.Errorf("%d idle connections kept after Connection: close", n)
	}
	c.do(host, "/x", nil, nil)
	srv.CloseClientConnections() // the idle connection is now dead
	resp, err := c.do(host, "/x", nil, []byte("again"))
	if err != nil || string(resp.Body) != "echo:again" {
		t.Errorf("request on a stale connection: %+v %v", resp, err)
	}
}

func TestLogSummary(t *testing.T) {
	path := t.TempDir() + "/bot.log"
	log := `{"time":"x","level":"WARN","msg":"not ready","check":"redis"}
{"time":"x","level":"ERROR","msg":"deciding on an alert","err":"pool timeout"}
not json at all
{"time":"x","level":"ERROR","msg":"deciding on an alert","err":"pool timeout"}
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	got := logSummary(path, 5)
	want := []string{"2× ERROR deciding on an alert", "1× WARN not ready"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("logSummary = %q, want %q", got, want)
	}
}

func TestWiringErrors(t *testing.T) {
	r := newReport(options{})
	r.Steps = []*stepResult{
		{Scenario: "show web1", Rate: 500, Bot: &stats{}},
		{Scenario: "show web1", Rate: 6000, Bot: &stats{Errors: 3, ErrorKinds: map[string]int{"timeout": 3}}},
	}
	if err := r.wiringErrors(); err != nil {
		t.Errorf("errors past the knee fail the run: %v", err)
	}
	r.Steps[0].Bot = &stats{Errors: 1, ErrorKinds: map[string]int{"HTTP 401": 1}}
	if err := r.wiringErrors(); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("errors at the lowest rate: %v", err)
	}
}

// TestRedactEnvHidesRedisPassword: the report lists the bot's environment;
// a password in REDIS_URL never reaches it.
func TestRedactEnvHidesRedisPassword(t *testing.T) {
	got := strings.Join(redactEnv([]string{"REDIS_URL=redis://:SECRETPASS@10.0.0.5:6379/0", "METRICS_ADDR=127.0.0.1:4000"}), " ")
	if strings.Contains(got, "SECRETPASS") || !strings.Contains(got, "REDIS_URL=redis://REDACTED@10.0.0.5:6379/0") {
		t.Errorf("redactEnv = %q; want REDIS_URL without its password", got)
	}
}

// The bot learns its workspace from auth.test and refuses requests from
// any other: the stand-in's answer must name the team the payloads carry.
func TestStubTeamIsPayloadTeam(t *testing.T) {
	stub, err := startSlackStub()
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	api := slack.New("xoxb-loadtest", slack.OptionAPIURL(stub.url))
	r, err := api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	v, _ := url.ParseQuery(string(slashBody(userID, "show web1", 1, "")))
	if r.TeamID != teamID || v.Get("team_id") != teamID {
		t.Errorf("auth.test team = %q, slash command team = %q; want both %q", r.TeamID, v.Get("team_id"), teamID)
	}
	if !strings.Contains(string(clickBody(nil, ticket{Ticket: "T1"}, approverID, 1)), teamID) {
		t.Errorf("click payload does not carry team %q", teamID)
	}
}
