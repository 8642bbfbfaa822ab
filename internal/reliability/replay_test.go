package reliability

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/internal/bottest"
)

const evilTeam = "TEVIL0001"

// slashText is the text of a slash command's JSON answer.
func slashText(body []byte) (responseType, text string) {
	var r slashReply
	json.Unmarshal(body, &r)
	return r.ResponseType, r.Text
}

// drained waits until every job queued under prefix has finished: the work
// queue is empty and nothing is pending on any consumer (Finish deletes a
// job's entry).
func drained(t *testing.T, rds *redisProc, prefix string, dump func() string) {
	t.Helper()
	rdb := rds.client()
	defer rdb.Close()
	queue := approvals.KeyPrefix(prefix) + "queue"
	waitFor(t, 20*time.Second, "an empty work queue", func() bool {
		n, err := rdb.XLen(t.Context(), queue).Result()
		if err != nil || n != 0 {
			return false
		}
		p, err := rdb.XPending(t.Context(), queue, "executors").Result()
		return err == nil && p.Count == 0
	}, dump)
}

// Scenario: one request, one effect. Two bot processes share Redis (one
// learns its workspace from auth.test, the other has SLACK_TEAM_ID). A
// signed `restart web1`, captured and replayed byte for byte inside the
// five-minute window to the other replica, retried by Slack with
// X-Slack-Retry-Num, and typed again by the same person, restarts web1
// once; each repeat is answered that it is already being handled.
func TestReplayedRestartRunsOnce(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	const prefix = "relreplay:"
	a := startBot(t, "bot-a", botEnv(slack, fake, rds, prefix))
	b := startBot(t, "bot-b", botEnv(slack, fake, rds, prefix, "SLACK_TEAM_ID="+slackTeam))
	dump := func() string { return slack.Dump() + "\n--- bot-a\n" + a.logText() + "\n--- bot-b\n" + b.logText() }

	body := slashBody(bottest.UserAsker, bottest.ChanOps, "restart web1")
	at := time.Now().Add(-4 * time.Minute) // inside the window, near its end
	code, ans := do(signedRequest(a.url, secret, "/slack/commands", body, at))
	if rt, text := slashText(ans); code != http.StatusOK || rt != "ephemeral" || !strings.Contains(text, "Working on") {
		t.Fatalf("restart web1 = %d %s", code, ans)
	}
	code, ans = do(signedRequest(b.url, secret, "/slack/commands", body, at))
	if rt, text := slashText(ans); code != http.StatusOK || rt != "ephemeral" || !strings.Contains(text, "already being handled") {
		t.Errorf("exact replay to the other replica = %d %s; want an ephemeral 'already being handled'", code, ans)
	}
	retry := signedRequest(a.url, secret, "/slack/commands", body, time.Now())
	retry.Header.Set("X-Slack-Retry-Num", "1")
	retry.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	code, ans = do(retry)
	if _, text := slashText(ans); code != http.StatusOK || !strings.Contains(text, "already being handled") {
		t.Errorf("Slack's retry = %d %s; want 'already being handled'", code, ans)
	}
	code, ans = b.slash(secret, bottest.UserAsker, bottest.ChanOps, "restart web1")
	if _, text := slashText(ans); code != http.StatusOK || !strings.Contains(text, "a moment ago") {
		t.Errorf("typed again = %d %s; want 'a moment ago'", code, ans)
	}

	// A later command, then an empty queue: whatever was queued has run.
	if code, ans := a.slash(secret, bottest.UserAppr2, bottest.ChanOps, "restart db1"); code != http.StatusOK || !strings.Contains(string(ans), "Working on") {
		t.Fatalf("marker restart db1 = %d %s", code, ans)
	}
	slack.WaitPost(t, "db1.default.acme restarted")
	drained(t, rds, prefix, dump)
	if n := signals(fake.Server, "web1"); n != 1 {
		t.Errorf("web1 got %d power signals; want 1 (one restart)\n%s", n, dump())
	}
	if n := len(slack.Find("chat.postMessage", "web1.default.acme restarted")); n != 1 {
		t.Errorf("restart results posted = %d; want 1", n)
	}
}

// Scenario: another workspace's request. The app's signing secret is the
// same in every workspace it is installed in, so a slash command or click
// from another workspace carries a valid signature; its team_id gives it
// away. It is refused (an ephemeral refusal, 401 for a click), logged at
// WARN, and nothing runs: no restart, no vote on a card.
func TestOtherWorkspaceRefused(t *testing.T) {
	t.Parallel()
	slack := newSlackAPI(t, "xoxb-reliability")
	fake := newFakeAPI(t)
	rds := startRedis(t, "")
	const secret = "reliability-signing-secret"
	const prefix = "relteam:"
	a := startBot(t, "bot-a", botEnv(slack, fake, rds, prefix))
	dump := func() string { return slack.Dump() + "\n--- bot-a\n" + a.logText() }

	v, _ := url.ParseQuery(string(slashBody(bottest.UserAsker, bottest.ChanOps, "restart web1")))
	v.Set("team_id", evilTeam)
	code, ans := do(signedRequest(a.url, secret, "/slack/commands", []byte(v.Encode()), time.Now()))
	if rt, text := slashText(ans); code != http.StatusOK || rt != "ephemeral" || !strings.Contains(text, "only serves its own Slack workspace") {
		t.Errorf("slash command from another workspace = %d %s; want an ephemeral refusal", code, ans)
	}

	// A card in the bot's workspace, clicked from another.
	if code, ans := a.slash(secret, bottest.UserAsker, bottest.ChanOps, "purge web2"); code != http.StatusOK {
		t.Fatalf("purge web2 = %d %s", code, ans)
	}
	c := slack.WaitCard(t, 1)
	cv, _ := url.ParseQuery(string(clickBody(bottest.UserAppr1, bottest.ChanOps, c, "approve")))
	var p map[string]any
	json.Unmarshal([]byte(cv.Get("payload")), &p)
	p["team"].(map[string]any)["id"] = evilTeam
	p["user"].(map[string]any)["team_id"] = evilTeam
	js, _ := json.Marshal(p)
	code, _ = do(signedRequest(a.url, secret, "/slack/interactions", []byte(url.Values{"payload": {string(js)}}.Encode()), time.Now()))
	if code != http.StatusUnauthorized {
		t.Errorf("click from another workspace = %d; want 401", code)
	}

	if code, ans := a.slash(secret, bottest.UserAppr2, bottest.ChanOps, "restart db1"); code != http.StatusOK || !strings.Contains(string(ans), "Working on") {
		t.Fatalf("marker restart db1 = %d %s", code, ans)
	}
	slack.WaitPost(t, "db1.default.acme restarted")
	drained(t, rds, prefix, dump)
	if n := signals(fake.Server, "web1"); n != 0 {
		t.Errorf("web1 got %d power signals; want none\n%s", n, dump())
	}
	if n := bottest.Purges(fake.Server, "web2"); n != 0 {
		t.Errorf("web2 purged %d times; want none\n%s", n, dump())
	}
	if n := len(slack.Find("chat.update", "Approved")); n != 0 {
		t.Errorf("the card was updated as approved %d times; want none", n)
	}
	warned := 0
	for _, line := range a.logLines() {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "another Slack workspace") && strings.Contains(line, evilTeam) {
			warned++
		}
	}
	if warned != 2 {
		t.Errorf("WARN lines about another workspace = %d; want 2 (the command and the click)\n%s", warned, a.logText())
	}
}
