package slacktest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Slack's published worked example (shared/slack.md section 1).
func TestSignatureVector(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	got := Signature("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, []byte(body))
	if want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Errorf("Signature(Slack's example) = %s; want %s", got, want)
	}
}

// What the kit signs, slack-go's verifier (the bot's) accepts; another
// secret, another body or a clock 6 minutes off is refused.
func TestSignerMatchesSlackGo(t *testing.T) {
	body := SlashBody("U1", "C1", "show web1")
	verify := func(h http.Header, secret string, body []byte) error {
		sv, err := slack.NewSecretsVerifier(h, secret)
		if err != nil {
			return err
		}
		sv.Write(body)
		return sv.Ensure()
	}
	s := Signer{Secret: "s3cret"}
	if err := verify(s.Headers(body), "s3cret", body); err != nil {
		t.Fatalf("slack-go refuses the kit's signature: %v", err)
	}
	if err := verify(s.Headers(body), "other", body); !errors.Is(err, slack.ErrInvalidSignature) {
		t.Errorf("another secret: %v; want invalid signature", err)
	}
	if err := verify(s.Headers(body), "s3cret", append(body, 'x')); !errors.Is(err, slack.ErrInvalidSignature) {
		t.Errorf("another body: %v; want invalid signature", err)
	}
	stale := Signer{Secret: "s3cret", Now: func() time.Time { return time.Now().Add(-6 * time.Minute) }}
	if err := verify(stale.Headers(body), "s3cret", body); !errors.Is(err, slack.ErrExpiredTimestamp) {
		t.Errorf("signed 6 minutes ago: %v; want expired", err)
	}
	r := stale.Request("/slack/commands", body)
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Header.Get("X-Slack-Signature") == "" {
		t.Errorf("request headers %v", r.Header)
	}
}

func TestGrafanaSignature(t *testing.T) {
	body := Grafana(Firing("bytemark_server", "web1", time.Now())).JSON()
	at := time.Unix(1700000000, 0)
	h := GrafanaHeaders("hmac-secret", body, at)
	mac := hmac.New(sha256.New, []byte("hmac-secret"))
	mac.Write([]byte("1700000000:"))
	mac.Write(body)
	if got, want := h.Get(GrafanaSignatureHeader), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("signature = %s; want %s", got, want)
	}
	if got := h.Get(GrafanaTimestampHeader); got != "1700000000" {
		t.Errorf("timestamp = %s", got)
	}
	mac = hmac.New(sha256.New, []byte("hmac-secret"))
	mac.Write(body)
	if got, want := GrafanaSignature("hmac-secret", "", body), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("without a timestamp = %s; want %s", got, want)
	}
}

func TestSlashParses(t *testing.T) {
	api := New(t, Options{TeamID: "T0LOAD"})
	c := api.Slash("U1", "C1", "purge web1")
	r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(string(c.Body())))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Command != "/bytemark" || sc.Text != "purge web1" || sc.UserID != "U1" || sc.ChannelID != "C1" || sc.TeamID != "T0LOAD" ||
		sc.ResponseURL != c.ResponseURL || !strings.HasPrefix(sc.ResponseURL, api.srv.URL) {
		t.Errorf("parsed %+v", sc)
	}
	if d := api.Slash("U1", "C1", "purge web1"); d.TriggerID == c.TriggerID || d.ResponseURL == c.ResponseURL {
		t.Errorf("two commands share trigger %q or response_url %q", d.TriggerID, d.ResponseURL)
	}
	if a, b := Slash("U1", "C1", "x"), Slash("U1", "C1", "x"); a.TriggerID == b.TriggerID || a.TeamID != DefaultTeam {
		t.Errorf("Slash: triggers %q %q, team %q", a.TriggerID, b.TriggerID, a.TeamID)
	}
}

func TestClickParses(t *testing.T) {
	api := New(t, Options{})
	card := Card{Ticket: "TK42", BlockID: "approval:C1", Channel: "C1", TS: "1700000000.000042",
		Blocks: `[{"type":"actions","block_id":"approval:C1","elements":[{"type":"button","action_id":"approve","value":"TK42","text":{"type":"plain_text","text":"Approve"}}]}]`}
	k := api.Click("U2", "C1", card, "approve")
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(k.Body())))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U2" || ic.Team.ID != DefaultTeam ||
		ic.Container.ChannelID != "C1" || ic.Container.MessageTs != card.TS || ic.TriggerID == "" || ic.ResponseURL != k.ResponseURL {
		t.Errorf("parsed type %q user %q team %q container %+v trigger %q", ic.Type, ic.User.ID, ic.Team.ID, ic.Container, ic.TriggerID)
	}
	acts := ic.ActionCallback.BlockActions
	if len(acts) != 1 || acts[0].ActionID != "approve" || acts[0].Value != "TK42" || acts[0].BlockID != card.BlockID {
		t.Errorf("actions %+v", acts)
	}
	if len(ic.Message.Blocks.BlockSet) != 1 {
		t.Errorf("the message's blocks did not come with the click: %+v", ic.Message)
	}
}

// The stand-in answers slack-go as Slack would, records the calls and
// decodes the approval cards.
func TestAPIAnswersLikeSlack(t *testing.T) {
	api := New(t, Options{TeamID: "T9", BotUserID: "UBOT9"})
	c := api.Client()
	ctx := context.Background()
	approve := slack.NewButtonBlockElement("approve", "TK1", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
	deny := slack.NewButtonBlockElement("deny", "TK1", slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false))
	ch, ts, err := c.PostMessageContext(ctx, "C1",
		slack.MsgOptionText("Approval needed: purge db1 (requested by <@U0REQ>, ticket TK1)", false),
		slack.MsgOptionBlocks(slack.NewContextBlock("who", slack.NewTextBlockObject(slack.MarkdownType, "asked by <@U0REQ>", false, false)),
			slack.NewActionBlock("approval:C1", approve, deny)))
	if err != nil || ch != "C1" || ts == "" {
		t.Fatalf("postMessage: %q %q %v", ch, ts, err)
	}
	if _, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("just text", false), slack.MsgOptionTS(ts)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("updated", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, _, err := c.DeleteMessageContext(ctx, "C1", ts); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("psst <@U1>", false)); err != nil {
		t.Fatalf("ephemeral: %v", err)
	}
	r, err := c.AuthTestContext(ctx)
	if err != nil || r.TeamID != "T9" || r.UserID != "UBOT9" {
		t.Errorf("auth.test = %+v, %v", r, err)
	}
	if _, err := c.GetUserGroupMembersContext(ctx, "S1"); err == nil || !strings.Contains(err.Error(), "no_such_subteam") {
		t.Errorf("unknown group: %v; want no_such_subteam", err)
	}
	api.SetGroup("S1", "U1", "U2")
	if users, err := c.GetUserGroupMembersContext(ctx, "S1"); err != nil || len(users) != 2 {
		t.Errorf("group S1 = %v, %v", users, err)
	}

	cards := api.Cards()
	want := Card{Ticket: "TK1", BlockID: "approval:C1", Channel: "C1", TS: ts, Requester: "U0REQ"}
	if len(cards) != 1 || cards[0].Ticket != want.Ticket || cards[0].BlockID != want.BlockID || cards[0].TS != ts || cards[0].Requester != "U0REQ" {
		t.Errorf("cards = %+v; want [%+v]", cards, want)
	}
	if got := api.WaitCard(t, 1); got.Ticket != "TK1" {
		t.Errorf("WaitCard = %+v", got)
	}
	if m := api.WaitPost(t, "just text"); m.Form.Get("thread_ts") != ts {
		t.Errorf("thread_ts = %q; want %q", m.Form.Get("thread_ts"), ts)
	}
	if e := api.WaitEphemeral(t, "U1", "<@U1>"); e.Text() != "psst <@U1>" {
		t.Errorf("ephemeral text %q", e.Text())
	}
	if n := len(api.Find("chat.postMessage", "Approval needed", "TK1")); n != 1 {
		t.Errorf("Find = %d", n)
	}
	counts := api.Counts()
	if counts["chat.postMessage"] != 2 || counts["chat.update"] != 1 || counts["chat.delete"] != 1 || counts["usergroups.users.list"] != 2 {
		t.Errorf("counts = %v", counts)
	}
	if bl := api.Calls("chat.postMessage")[0].Blocks(); len(bl.BlockSet) != 2 || bl.BlockSet[1].BlockType() != slack.MBTAction {
		t.Errorf("blocks = %+v", bl)
	}
	if bs := api.Calls("chat.postMessage")[0].Buttons(); len(bs) != 2 || bs[1].ActionID != "deny" {
		t.Errorf("buttons = %+v", bs)
	}
	if len(api.BadAuth()) != 0 {
		t.Errorf("bad auth: %v", api.BadAuth())
	}
}

func TestAPIFailures(t *testing.T) {
	api := New(t, Options{})
	c := api.Client()
	ctx := context.Background()

	api.RateLimit("chat.postMessage", 2, 2*time.Second)
	for i := range 2 {
		_, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
			t.Fatalf("call %d: %v; want rate limited, retry after 2s", i, err)
		}
	}
	if _, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatalf("after the 429s: %v", err)
	}
	if n := len(api.Calls("chat.postMessage (429)")); n != 2 {
		t.Errorf("429s recorded = %d; want 2", n)
	}

	api.ChannelError("CPRIVATE", "channel_not_found")
	api.ChannelError("CPUBLIC", "not_in_channel")
	for ch, want := range map[string]string{"CPRIVATE": "channel_not_found", "CPUBLIC": "not_in_channel"} {
		if _, _, err := c.PostMessageContext(ctx, ch, slack.MsgOptionText("hi", false)); err == nil || err.Error() != want {
			t.Errorf("post to %s: %v; want %s", ch, err, want)
		}
		if _, err := c.PostEphemeralContext(ctx, ch, "U1", slack.MsgOptionText("hi", false)); err == nil || err.Error() != want {
			t.Errorf("ephemeral to %s: %v; want %s", ch, err, want)
		}
	}
	if n := len(api.Posts("hi")); n != 1 {
		t.Errorf("Posts counts %d successful posts; want 1 (failed ones are not seen)", n)
	}
	api.ChannelError("CPUBLIC", "")
	if _, _, err := c.PostMessageContext(ctx, "CPUBLIC", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("after ChannelError lifted: %v", err)
	}

	api.FailWith("auth.test", "fatal_error")
	if _, err := c.AuthTestContext(ctx); err == nil || err.Error() != "fatal_error" {
		t.Errorf("auth.test: %v; want fatal_error", err)
	}
	api.FailWith("auth.test", "")
	if _, err := c.AuthTestContext(ctx); err != nil {
		t.Errorf("auth.test after FailWith lifted: %v", err)
	}
	api.FailWith("usergroups.users.list", "missing_scope")
	api.SetGroup("S1", "U1")
	if _, err := c.GetUserGroupMembersContext(ctx, "S1"); err == nil || err.Error() != "missing_scope" {
		t.Errorf("usergroups: %v; want missing_scope", err)
	}
}

// A call without the bot token is refused and listed.
func TestAPIBadToken(t *testing.T) {
	api := Start(Options{Token: "xoxb-right"})
	defer api.Close()
	wrong := slack.New("xoxb-wrong", slack.OptionAPIURL(api.URL()))
	if _, err := wrong.AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong token: %v; want invalid_auth", err)
	}
	if got := api.BadAuth(); len(got) != 1 || got[0] != "auth.test" {
		t.Errorf("BadAuth = %v", got)
	}
}

// response_url: Slack's rules (5 posts in 30 minutes; replace_original).
func TestResponseURL(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	api := New(t, Options{Now: clock})
	cmd := api.Slash("U1", "C1", "list")
	ctx := context.Background()
	post := func(m slack.WebhookMessage) error { return slack.PostWebhookContext(ctx, cmd.ResponseURL, &m) }

	if err := post(slack.WebhookMessage{Text: "working on it"}); err != nil {
		t.Fatal(err)
	}
	if err := post(slack.WebhookMessage{Text: "the list", ResponseType: slack.ResponseTypeInChannel, ReplaceOriginal: true}); err != nil {
		t.Fatal(err)
	}
	got := api.Responses(cmd.ResponseURL)
	if len(got) != 1 || got[0].Text != "the list" || got[0].ResponseType != "in_channel" {
		t.Errorf("after replace_original: %+v; want the list, in_channel, alone", got)
	}
	if err := post(slack.WebhookMessage{Text: "more"}); err != nil {
		t.Fatal(err)
	}
	if got := api.Responses(cmd.ResponseURL); len(got) != 2 || got[1].ResponseType != "ephemeral" {
		t.Errorf("after a third post: %+v", got)
	}
	if c := api.WaitResponse(t, cmd.ResponseURL, "more"); c.Channel() != "C1" || c.Form.Get("user") != "U1" {
		t.Errorf("response call %+v", c)
	}
	if err := post(slack.WebhookMessage{}); err == nil {
		t.Error("an empty post was accepted; Slack answers no_text")
	}
	for i := 0; i < 2; i++ {
		if err := post(slack.WebhookMessage{Text: "again"}); err != nil {
			t.Fatalf("post %d: %v", 4+i, err)
		}
	}
	var sce slack.StatusCodeError
	if err := post(slack.WebhookMessage{Text: "a sixth"}); !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
		t.Errorf("sixth post: %v; want 404 (used_url)", err)
	}
	if c := api.Find("response_url", "a sixth"); len(c) != 1 || c[0].Error != "used_url" {
		t.Errorf("sixth post recorded as %+v", c)
	}

	late := api.Slash("U1", "C1", "list")
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	m := slack.WebhookMessage{Text: "too late"}
	if err := slack.PostWebhookContext(ctx, late.ResponseURL, &m); !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
		t.Errorf("after 31 minutes: %v; want 404 (expired_url)", err)
	}
	if err := slack.PostWebhookContext(ctx, api.srv.URL+responsePath+"T0001/1/unknown", &m); err == nil {
		t.Error("a response_url the stand-in did not hand out was accepted")
	}
}

// views.open, views.update, views.push and a view_submission built from
// the opened view.
func TestViews(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	api := New(t, Options{Now: clock})
	c := api.Client()
	ctx := context.Background()
	click := api.Click("U2", "C1", Card{Ticket: "TK1", BlockID: "approval:C1", TS: "1.2"}, "approve")
	input := slack.NewInputBlock("confirm", slack.NewTextBlockObject(slack.PlainTextType, "Type the server's name", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "name"))
	modal := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "purge-confirm", PrivateMetadata: "TK1",
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Purge web1?", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Purge", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{input}}}
	resp, err := c.OpenViewContext(ctx, click.TriggerID, modal)
	if err != nil {
		t.Fatalf("views.open: %v", err)
	}
	if resp.ID == "" || resp.Hash == "" || resp.CallbackID != "purge-confirm" || resp.PrivateMetadata != "TK1" {
		t.Errorf("views.open answered %+v", resp.View)
	}
	if _, err := c.OpenViewContext(ctx, click.TriggerID, modal); err == nil || err.Error() != "exchanged_trigger_id" {
		t.Errorf("second use of a trigger: %v; want exchanged_trigger_id", err)
	}
	if _, err := c.OpenViewContext(ctx, "1.2.unknown", modal); err == nil || err.Error() != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %v; want invalid_trigger_id", err)
	}
	stale := api.TriggerID()
	mu.Lock()
	now = now.Add(4 * time.Second)
	mu.Unlock()
	if _, err := c.OpenViewContext(ctx, stale, modal); err == nil || err.Error() != "expired_trigger_id" {
		t.Errorf("a trigger 4s old: %v; want expired_trigger_id", err)
	}
	api.AddTrigger("from-testdata")
	if _, err := c.PushViewContext(ctx, "from-testdata", modal); err != nil {
		t.Errorf("views.push with an added trigger: %v", err)
	}

	v := api.WaitView(t, 1)
	if o, ok := api.ViewOpenedBy(click.TriggerID); !ok || o.ID != v.ID {
		t.Errorf("ViewOpenedBy(the click's trigger) = %+v, %v; want view %s", o, ok, v.ID)
	}
	if _, ok := api.ViewOpenedBy(stale); ok {
		t.Error("ViewOpenedBy(a trigger that opened nothing) found a view")
	}
	if v.ID != resp.ID || v.Title != "Purge web1?" || !strings.Contains(v.Blocks, `"confirm"`) {
		t.Errorf("view %+v", v)
	}
	if _, err := c.UpdateViewContext(ctx, modal, "", "stale-hash", v.ID); err == nil || err.Error() != "hash_conflict" {
		t.Errorf("update with a stale hash: %v; want hash_conflict", err)
	}
	modal.Title = slack.NewTextBlockObject(slack.PlainTextType, "Purged", false, false)
	if _, err := c.UpdateViewContext(ctx, modal, "", v.Hash, v.ID); err != nil {
		t.Errorf("views.update: %v", err)
	}
	if v2, _ := api.View(v.ID); v2.Title != "Purged" {
		t.Errorf("after the update the view's title is %q", v2.Title)
	}

	sub := api.Submit("U2", v, map[string]map[string]string{"confirm": {"name": "web1"}})
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(sub.Body())))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeViewSubmission || ic.User.ID != "U2" || ic.View.ID != v.ID ||
		ic.View.CallbackID != "purge-confirm" || ic.View.PrivateMetadata != "TK1" ||
		ic.View.State.Values["confirm"]["name"].Value != "web1" {
		t.Errorf("view_submission parsed as %+v (state %+v)", ic.View, ic.View.State)
	}
}

func TestAlertPayloads(t *testing.T) {
	start := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	a := Firing("bytemark_server", "web1", start)
	if a.Fingerprint != Firing("bytemark_server", "web1", start.Add(time.Hour)).Fingerprint || len(a.Fingerprint) != 16 {
		t.Errorf("fingerprint %q is not stable per label set", a.Fingerprint)
	}
	var am map[string]any
	if err := json.Unmarshal(Alertmanager(a).JSON(), &am); err != nil {
		t.Fatal(err)
	}
	alerts := am["alerts"].([]any)
	first := alerts[0].(map[string]any)
	if am["version"] != "4" || am["status"] != "firing" || first["endsAt"] != FiringEnd || first["labels"].(map[string]any)["bytemark_server"] != "web1" {
		t.Errorf("alertmanager payload %v", am)
	}
	if _, ok := first["silenceURL"]; ok {
		t.Error("an Alertmanager alert carries Grafana's silenceURL")
	}
	if m := Alertmanager(a.Resolved(start.Add(time.Minute))); m.Status != "resolved" || m.NotificationReason != "all alerts resolved" {
		t.Errorf("resolved delivery %+v", m)
	}
	var gf map[string]any
	if err := json.Unmarshal(Grafana(a).JSON(), &gf); err != nil {
		t.Fatal(err)
	}
	ga := gf["alerts"].([]any)[0].(map[string]any)
	if gf["version"] != "1" || gf["state"] != "alerting" || gf["orgId"] != 1.0 || ga["valueString"] == nil || ga["silenceURL"] == "" {
		t.Errorf("grafana payload %v", gf)
	}
	r := GrafanaRequest("/hooks/grafana", "s", Grafana(a).JSON(), start)
	if r.Header.Get(GrafanaSignatureHeader) == "" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("grafana request headers %v", r.Header)
	}
	if r := HookRequest("/hooks/alertmanager", "tok", nil); r.Header.Get("Authorization") != "Bearer tok" {
		t.Errorf("hook request headers %v", r.Header)
	}
}

// Discard keeps no calls but still counts them and calls OnCall.
func TestDiscard(t *testing.T) {
	api := Start(Options{Discard: true, Token: "*"})
	defer api.Close()
	var mu sync.Mutex
	var seen []string
	api.OnCall(func(c Call) { mu.Lock(); seen = append(seen, c.Method+" "+c.Form.Get("text")); mu.Unlock() })
	c := slack.New("xoxb-anything", slack.OptionAPIURL(api.URL()))
	for range 3 {
		if _, _, err := c.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(api.Calls("")); n != 0 {
		t.Errorf("%d calls kept; want none", n)
	}
	if api.Counts()["chat.postMessage"] != 3 || api.LastCall().IsZero() {
		t.Errorf("counts %v, last %v", api.Counts(), api.LastCall())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != "chat.postMessage hi" {
		t.Errorf("OnCall saw %v", seen)
	}
}

// UnescapeJSON undoes what encoding/json does to < > &, so that a test of
// JSON it marshalled finds "<@U1>" as Slack shows it.
func TestUnescapeJSON(t *testing.T) {
	js, err := json.Marshal(map[string]string{"text": "<@U1> & <!here>"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := UnescapeJSON(string(js)), `{"text":"<@U1> & <!here>"}`; got != want {
		t.Errorf("UnescapeJSON(%s) = %s; want %s", js, got, want)
	}
}

// An acknowledgement (the command's immediate answer) is what the first
// replace_original replaces; it uses none of the URL's posts.
func TestAcknowledge(t *testing.T) {
	api := New(t, Options{})
	cmd := api.Slash("U1", "C1", "show web1")
	api.Acknowledge(cmd.ResponseURL, []byte(`{"response_type":"ephemeral","text":"Working on <it>"}`))
	if got := api.Responses(cmd.ResponseURL); len(got) != 1 || !got[0].Has("Working on <it>") || got[0].ResponseType != "ephemeral" {
		t.Fatalf("after the acknowledgement: %+v", got)
	}
	m := slack.WebhookMessage{Text: "web1 is on", ReplaceOriginal: true}
	if err := slack.PostWebhookContext(context.Background(), cmd.ResponseURL, &m); err != nil {
		t.Fatal(err)
	}
	if got := api.WaitShown(t, cmd.ResponseURL, "web1 is on"); len(got) != 1 {
		t.Errorf("after the answer: %+v; want it alone", got)
	}
	api.Acknowledge(cmd.ResponseURL, []byte(``)) // an empty 200 shows nothing
	if got := api.Responses(cmd.ResponseURL); len(got) != 1 {
		t.Errorf("an empty acknowledgement showed something: %+v", got)
	}
}

// An answer that replaces the acknowledgement before the test recorded it
// (the bot was quicker than its handler's return) still replaces it.
func TestAcknowledgeAfterAnswer(t *testing.T) {
	api := New(t, Options{})
	cmd := api.Slash("U1", "C1", "list")
	m := slack.WebhookMessage{Text: "3 servers", ReplaceOriginal: true}
	if err := slack.PostWebhookContext(context.Background(), cmd.ResponseURL, &m); err != nil {
		t.Fatal(err)
	}
	api.Acknowledge(cmd.ResponseURL, []byte(`{"response_type":"ephemeral","text":"Working on it"}`))
	if got := api.Responses(cmd.ResponseURL); len(got) != 1 || got[0].Text != "3 servers" {
		t.Errorf("shows %+v; want the answer alone", got)
	}
}
