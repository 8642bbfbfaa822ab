package reliability

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// The fuzz targets send what the fuzzer makes to the bot's handler, on real
// Redis and the fake Bytemark, without the executor (so that a fuzzed but
// legitimate command, such as "reset web1" from an allowed user, is queued
// and never run). They assert: no panic (ServeHTTP is called directly, so a
// panic fails the target), no 5xx, a well-formed answer, and no write to
// the Bytemark API. Seeds are real payloads (Slack's documented examples,
// the bot's testdata, Alertmanager's and Grafana's) plus the checked-in
// corpora under testdata/fuzz/.
//
//	go test -fuzz=FuzzSlashCommand -fuzztime=1m ./internal/reliability/

func fuzzBot(f *testing.F) *inproc {
	return newInproc(f, inprocOpts{})
}

// checkAnswer fails t on a 5xx, or a 200 from a Slack route that is not a
// JSON reply (commands) or empty (interactions).
func checkAnswer(t *testing.T, ip *inproc, code int, body string, writesBefore int) {
	t.Helper()
	if code >= 500 {
		t.Fatalf("status %d: %q", code, trunc(body, 300))
	}
	if n := ip.Writes(); n != writesBefore {
		t.Fatalf("a Bytemark write was made (%d)", n-writesBefore)
	}
}

func FuzzSlashCommand(f *testing.F) {
	for _, s := range []string{
		string(slashBody(bottest.UserAsker, bottest.ChanOps, "list")),
		string(slashBody(bottest.UserAsker, bottest.ChanOps, "purge web1")),
		string(slashBody(bottest.UserAsker, bottest.ChanOps, "disc add web1 data 10G archive")),
		string(slashBody(bottest.UserAsker, bottest.ChanOps, "cancel abcdefghij")),
		string(slashBody(bottest.UserAsker, bottest.ChanOps, "audit web1.default.acme")),
		"token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=E0001&enterprise_name=Globular%20Construct%20Inc&channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve&command=/weather&text=94070&response_url=https://hooks.slack.com/commands/1234/5678&trigger_id=13345224609.738474920.8088930838d88f008e0&api_app_id=A123456",
		"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
		"ssl_check=1&token=x",
		"",
	} {
		f.Add([]byte(s))
	}
	ip := fuzzBot(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		w0 := ip.Writes()
		w := ip.serve(signedRequest("", inSecret, "/slack/commands", body, time.Now()))
		checkAnswer(t, ip, w.Code, w.Body.String(), w0)
		if w.Code == http.StatusOK && w.Body.Len() > 0 {
			var r slashReply
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
				t.Fatalf("200 with a body that is not JSON: %q", trunc(w.Body.String(), 300))
			}
			if r.ResponseType != "ephemeral" && r.ResponseType != "in_channel" {
				t.Fatalf("response_type %q", r.ResponseType)
			}
			if strings.Contains(r.Text, "goroutine ") || strings.Contains(r.Text, "panic") {
				t.Fatalf("internals in the answer: %q", r.Text)
			}
		} else if w.Code != http.StatusOK && w.Code != http.StatusRequestEntityTooLarge && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d for a signed command", w.Code)
		}
	})
}

func FuzzInteraction(f *testing.F) {
	c := card{Ticket: "abcdefghij", BlockID: "approval:" + bottest.ChanOps, TS: "1700000000.000001"}
	for _, b := range [][]byte{
		clickBody(bottest.UserAppr1, bottest.ChanOps, c, "approve"),
		clickBody(bottest.UserAsker, bottest.ChanOps, c, "deny"),
		clickBody(bottest.UserAppr1, bottest.ChanOther, c, "approve"),
	} {
		v, _ := url.ParseQuery(string(b))
		f.Add(v.Get("payload"))
	}
	f.Add(blockActionsJSON)
	f.Add(`{"type":"block_actions","team":{"id":"T9TK3CUKW","domain":"example"},"user":{"id":"UA8RXUSPL","username":"jtorrance","team_id":"T9TK3CUKW"},"api_app_id":"AABA1ABCD","token":"9s8d9as89d8as9d8as989","container":{"type":"message_attachment","message_ts":"1548261231.000200","attachment_id":1,"channel_id":"CBR2V3XEX","is_ephemeral":false,"is_app_unfurl":false},"trigger_id":"12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3","channel":{"id":"CBR2V3XEX","name":"review-updates"},"message":{"bot_id":"BAH5CA16Z","type":"message","text":"This content can't be displayed.","user":"UAJ2RU415","ts":"1548261231.000200"},"response_url":"https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209","actions":[{"action_id":"WaXA","block_id":"=qXel","text":{"type":"plain_text","text":"View","emoji":true},"value":"click_me_123","type":"button","action_ts":"1548426417.840180"}]}`)
	f.Add(`{"type":"view_submission"}`)
	// A submitted type-the-name box, as Slack sends it, for a ticket that
	// doesn't exist, and one with a name that isn't the server's.
	f.Add(`{"type":"view_submission","team":{"id":"T9TK3CUKW"},"user":{"id":"` + bottest.UserAppr1 + `"},"view":{"id":"V01","type":"modal","callback_id":"approve_by_name","private_metadata":"abcdefghij ` + bottest.ChanOps + `","state":{"values":{"confirm_name":{"server_name":{"type":"plain_text_input","value":"web2"}}}}}}`)
	f.Add(`{"type":"view_submission","team":{"id":"T9TK3CUKW"},"user":{"id":"` + bottest.UserAppr1 + `"},"view":{"id":"V01","type":"modal","callback_id":"approve_by_name","private_metadata":"abcdefghij","state":{"values":{"confirm_name":{"server_name":{"type":"plain_text_input","value":"<!channel>\u0000"}}}}}}`)
	f.Add(`{}`)
	f.Add(`null`)
	ip := fuzzBot(f)
	f.Fuzz(func(t *testing.T, payload string) {
		w0 := ip.Writes()
		body := []byte(url.Values{"payload": {payload}}.Encode())
		w := ip.serve(signedRequest("", inSecret, "/slack/interactions", body, time.Now()))
		checkAnswer(t, ip, w.Code, w.Body.String(), w0)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d for a signed interaction", w.Code)
		}
	})
}

// FuzzSlackHeaders fuzzes the signature and timestamp headers and the
// content type: nothing passes without a valid signature over the body.
func FuzzSlackHeaders(f *testing.F) {
	body := slashBody(bottest.UserAsker, bottest.ChanOps, "reset web1")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	f.Add(ts, sign(inSecret, time.Now().Unix(), body), "application/x-www-form-urlencoded", body)
	f.Add("1531420618", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "application/x-www-form-urlencoded",
		[]byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"))
	f.Add("", "", "", []byte{})
	f.Add("-1", "v0=", "multipart/form-data; boundary=x", []byte("--x--"))
	f.Add("99999999999999999999", "V0=00", "application/json", []byte(`{"text":"purge web1"}`))
	ip := fuzzBot(f)
	f.Fuzz(func(t *testing.T, ts, sig, ct string, body []byte) {
		for _, path := range []string{"/slack/commands", "/slack/interactions"} {
			w0 := ip.Writes()
			r := rawRequest(http.MethodPost, path, "", body)
			r.Header["X-Slack-Request-Timestamp"] = []string{ts}
			r.Header["X-Slack-Signature"] = []string{sig}
			r.Header["Content-Type"] = []string{ct}
			w := ip.serve(r)
			checkAnswer(t, ip, w.Code, w.Body.String(), w0)
			valid := false
			if n, err := strconv.ParseInt(ts, 10, 64); err == nil && time.Since(time.Unix(n, 0)).Abs() <= 5*time.Minute {
				valid = sig == sign(inSecret, n, body) && ts == strconv.FormatInt(n, 10)
			}
			v, _ := url.ParseQuery(string(body))
			sslCheck := v.Get("ssl_check") == "1" && v.Get("command") == "" && v.Get("payload") == ""
			if w.Code == http.StatusOK && !valid && !sslCheck {
				t.Fatalf("%s: 200 without a valid signature (ts %q sig %q)", path, ts, sig)
			}
		}
	})
}

func FuzzAlertmanagerHook(f *testing.F) {
	for _, name := range []string{"alertmanager.json", "alertmanager_resolved.json", "alertmanager_nolabel.json", "grafana.json"} {
		f.Add(readFile(f, repoRoot(f)+"/bot/monitor/testdata/"+name))
	}
	f.Add(alertBody("web1", 0, 3))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"bytemark_server":"../../x"}}]}`))
	f.Add([]byte(`{"version":"4","alerts":[{"labels":{"bytemark_server":"web1.default.acme"},"startsAt":"not a time"}]}`))
	f.Add([]byte(`{}`))
	ip := fuzzBot(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/hooks/alertmanager", "/hooks/grafana"} {
			w0 := ip.Writes()
			w := ip.serve(hookRequest(path, "Bearer "+inToken, "application/json", body))
			checkAnswer(t, ip, w.Code, w.Body.String(), w0)
			switch w.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("%s: status %d: %q", path, w.Code, trunc(w.Body.String(), 300))
			}
			var ans map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
				t.Fatalf("%s: answer is not JSON: %q", path, trunc(w.Body.String(), 300))
			}
		}
	})
}
