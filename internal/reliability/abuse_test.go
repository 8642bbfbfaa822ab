package reliability

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/bottest"
)

// abuseCase is one hostile or broken request.
type abuseCase struct {
	name string
	req  func(ip *inproc) *http.Request
	// want lists the acceptable statuses; a 200 must carry a private
	// (ephemeral) answer or nothing.
	want []int
}

func rawRequest(method, path, ct string, body []byte) *http.Request {
	r, _ := http.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

func withHeaders(r *http.Request, kv ...string) *http.Request {
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	return r
}

func hookRequest(path, auth, ct string, body []byte) *http.Request {
	r := rawRequest(http.MethodPost, path, ct, body)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

// Scenario 7: abuse of every endpoint. Stale timestamps, replayed
// interactions older than five minutes, bad signatures, oversized bodies,
// wrong content types, malformed payloads, a click on a ticket from another
// channel, forged ticket IDs: each gets 401, 400, 404, 405 or 413, or a 200
// with a private refusal; never a 500, a panic, or a call to the Bytemark
// API. (The fuzz targets in fuzz_test.go cover the parsers further.)
func TestAbuseEveryEndpoint(t *testing.T) {
	t.Parallel()
	ip := newInproc(t, inprocOpts{executor: true, cfg: oneWorker})
	// A real ticket, for the clicks.
	ip.slash(bottest.UserAsker, bottest.ChanOps, "purge web1")
	c := ip.Slack.WaitCard(t, 1)
	waitFor(t, 5*time.Second, "the card to be recorded", func() bool {
		tk, err := ip.Store.Get(t.Context(), c.Ticket)
		return err == nil && tk.MessageTS != ""
	}, ip.dump)
	before := len(ip.fake.Requests())

	now := time.Now()
	cmd := slashBody(bottest.UserAppr1, bottest.ChanOps, "purge web2")
	click := clickBody(bottest.UserAppr1, bottest.ChanOps, c, "approve")
	big := bytes.Repeat([]byte("a"), 64<<10+1)
	bigHook := append([]byte(`{"version":"4","alerts":[],"x":"`), bytes.Repeat([]byte("a"), 2<<20)...)
	bigHook = append(bigHook, `"}`...)
	signedAt := func(path string, body []byte, at time.Time) func(*inproc) *http.Request {
		return func(*inproc) *http.Request { return signedRequest("", inSecret, path, body, at) }
	}
	ok := []int{http.StatusOK}
	unauth := []int{http.StatusUnauthorized}
	bad := []int{http.StatusBadRequest}
	var cases []abuseCase
	for _, p := range []string{"/slack/commands", "/slack/interactions"} {
		body := cmd
		if p == "/slack/interactions" {
			body = click
		}
		cases = append(cases,
			abuseCase{p + " unsigned", func(*inproc) *http.Request {
				return rawRequest(http.MethodPost, p, "application/x-www-form-urlencoded", body)
			}, unauth},
			abuseCase{p + " bad signature", func(*inproc) *http.Request {
				r := signedRequest("", inSecret, p, body, now)
				r.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
				return r
			}, unauth},
			abuseCase{p + " other secret", func(*inproc) *http.Request { return signedRequest("", "not-the-secret", p, body, now) }, unauth},
			abuseCase{p + " signature over other body", func(*inproc) *http.Request {
				r := signedRequest("", inSecret, p, body, now)
				r.Body = io.NopCloser(bytes.NewReader(append(bytes.Clone(body), "&x=1"...)))
				r.ContentLength = -1
				return r
			}, unauth},
			abuseCase{p + " upper-case V0", func(*inproc) *http.Request {
				r := signedRequest("", inSecret, p, body, now)
				r.Header.Set("X-Slack-Signature", "V0="+strings.TrimPrefix(r.Header.Get("X-Slack-Signature"), "v0="))
				return r
			}, unauth},
			abuseCase{p + " signature not hex", func(*inproc) *http.Request {
				r := signedRequest("", inSecret, p, body, now)
				r.Header.Set("X-Slack-Signature", "v0=zz")
				return r
			}, unauth},
			abuseCase{p + " stale timestamp (6 min)", signedAt(p, body, now.Add(-6*time.Minute)), unauth},
			abuseCase{p + " replay older than 5 min", signedAt(p, body, now.Add(-5*time.Minute-10*time.Second)), unauth},
			abuseCase{p + " future timestamp (6 min)", signedAt(p, body, now.Add(6*time.Minute)), unauth},
			abuseCase{p + " timestamp not a number", func(*inproc) *http.Request {
				r := signedRequest("", inSecret, p, body, now)
				r.Header.Set("X-Slack-Request-Timestamp", "yesterday")
				return r
			}, unauth},
			abuseCase{p + " oversized (declared)", signedAt(p, big, now), []int{http.StatusRequestEntityTooLarge}},
			abuseCase{p + " oversized (chunked)", func(*inproc) *http.Request {
				r := signedRequest("", inSecret, p, big, now)
				r.ContentLength = -1
				return r
			}, []int{http.StatusRequestEntityTooLarge}},
			abuseCase{p + " GET", func(*inproc) *http.Request { return rawRequest(http.MethodGet, p, "", nil) }, []int{http.StatusMethodNotAllowed}},
		)
	}
	jsonCT := func(path string, body []byte, want []int) abuseCase {
		return abuseCase{path + " JSON content type " + trunc(string(body), 20), func(*inproc) *http.Request {
			r := signedRequest("", inSecret, path, body, now)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, want}
	}
	cases = append(cases,
		jsonCT("/slack/commands", []byte(`{"command":"/bytemark","text":"purge web2","user_id":"UAPPROVE1"}`), ok),
		jsonCT("/slack/interactions", []byte(`{"payload":{"type":"block_actions"}}`), bad),
		abuseCase{"/slack/commands empty body", signedAt("/slack/commands", nil, now), ok},
		abuseCase{"/slack/commands broken form", signedAt("/slack/commands", []byte("text=%zz&user_id=%"), now), ok},
		abuseCase{"/slack/interactions no payload", signedAt("/slack/interactions", []byte("a=b"), now), bad},
		abuseCase{"/slack/interactions payload not JSON", signedAt("/slack/interactions", []byte("payload=%7Bnot+json"), now), bad},
		abuseCase{"/slack/interactions payload in query only", func(*inproc) *http.Request {
			r := signedRequest("", inSecret, "/slack/interactions", nil, now)
			r.URL.RawQuery = url.Values{"payload": {string(click)}}.Encode()
			return r
		}, bad},
		abuseCase{"/slack/interactions view_submission", signedAt("/slack/interactions",
			[]byte(url.Values{"payload": {`{"type":"view_submission","user":{"id":"UAPPROVE1"}}`}}.Encode()), now), ok},
		abuseCase{"/slack/interactions forged ticket", signedAt("/slack/interactions",
			clickBody(bottest.UserAppr1, bottest.ChanOps, card{Ticket: "aaaaaaaaaa", BlockID: c.BlockID, TS: c.TS}, "approve"), now), ok},
		abuseCase{"/slack/interactions ticket ID with script chars", signedAt("/slack/interactions",
			clickBody(bottest.UserAppr1, bottest.ChanOps, card{Ticket: "x'; return redis.call('FLUSHALL') --", BlockID: c.BlockID, TS: c.TS}, "approve"), now), ok},
		abuseCase{"/slack/interactions ticket of another channel", signedAt("/slack/interactions",
			clickBody(bottest.UserAppr1, bottest.ChanOther, c, "approve"), now), ok},
		abuseCase{"/slack/interactions no block_id", signedAt("/slack/interactions",
			clickBody(bottest.UserAppr1, bottest.ChanOps, card{Ticket: c.Ticket, TS: c.TS}, "approve"), now), ok},
		abuseCase{"/slack/interactions unknown action", signedAt("/slack/interactions",
			clickBody(bottest.UserAppr1, bottest.ChanOps, c, "approve_all"), now), ok},
		abuseCase{"/slack/commands ssl_check unsigned", func(*inproc) *http.Request {
			return rawRequest(http.MethodPost, "/slack/commands", "application/x-www-form-urlencoded", []byte("ssl_check=1&token=x"))
		}, ok},
		abuseCase{"/slack/commands ssl_check smuggling a command", func(*inproc) *http.Request {
			return rawRequest(http.MethodPost, "/slack/commands", "application/x-www-form-urlencoded",
				[]byte("ssl_check=1&command=%2Fbytemark&text=purge+web2&user_id=UAPPROVE1"))
		}, unauth},
	)
	am, gf := readFile(t, repoRoot(t)+"/bot/monitor/testdata/alertmanager.json"), readFile(t, repoRoot(t)+"/bot/monitor/testdata/grafana.json")
	for _, h := range []struct {
		path string
		body []byte
	}{{"/hooks/alertmanager", am}, {"/hooks/grafana", gf}} {
		p, body := h.path, h.body
		tok := "Bearer " + inToken
		cases = append(cases,
			abuseCase{p + " no credentials", func(*inproc) *http.Request { return hookRequest(p, "", "application/json", body) }, unauth},
			abuseCase{p + " wrong token", func(*inproc) *http.Request { return hookRequest(p, "Bearer "+inToken+"x", "application/json", body) }, unauth},
			abuseCase{p + " token as Basic", func(*inproc) *http.Request { return hookRequest(p, "Basic "+inToken, "application/json", body) }, unauth},
			abuseCase{p + " token in the query", func(*inproc) *http.Request {
				return hookRequest(p+"?token="+inToken, "", "application/json", body)
			}, unauth},
			abuseCase{p + " Grafana HMAC not configured", func(*inproc) *http.Request {
				return withHeaders(hookRequest(p, "", "application/json", body), "X-Grafana-Alerting-Signature", strings.Repeat("ab", 32))
			}, unauth},
			abuseCase{p + " not JSON", func(*inproc) *http.Request { return hookRequest(p, tok, "application/json", []byte("{not json")) }, bad},
			abuseCase{p + " wrong content type", func(*inproc) *http.Request { return hookRequest(p, tok, "text/plain", []byte("hello")) }, bad},
			abuseCase{p + " empty", func(*inproc) *http.Request { return hookRequest(p, tok, "application/json", nil) }, bad},
			abuseCase{p + " JSON array", func(*inproc) *http.Request { return hookRequest(p, tok, "application/json", []byte("[1,2]")) }, bad},
			abuseCase{p + " alerts of the wrong type", func(*inproc) *http.Request {
				return hookRequest(p, tok, "application/json", []byte(`{"version":"4","status":"firing","alerts":{"a":1}}`))
			}, bad},
			abuseCase{p + " oversized (declared)", func(*inproc) *http.Request { return hookRequest(p, tok, "application/json", bigHook) },
				[]int{http.StatusRequestEntityTooLarge}},
			abuseCase{p + " oversized (chunked)", func(*inproc) *http.Request {
				r := hookRequest(p, tok, "application/json", bigHook)
				r.ContentLength = -1
				return r
			}, []int{http.StatusRequestEntityTooLarge}},
			abuseCase{p + " GET", func(*inproc) *http.Request {
				return withHeaders(rawRequest(http.MethodGet, p, "", nil), "Authorization", tok)
			}, []int{http.StatusMethodNotAllowed}},
		)
	}
	cases = append(cases,
		abuseCase{"/hooks/alertmanager grafana payload", func(*inproc) *http.Request {
			return hookRequest("/hooks/alertmanager", "Bearer "+inToken, "application/json", gf)
		}, bad},
		abuseCase{"unknown path", func(*inproc) *http.Request { return rawRequest(http.MethodPost, "/admin", "", nil) }, []int{http.StatusNotFound}},
		abuseCase{"path traversal", func(*inproc) *http.Request { return rawRequest(http.MethodGet, "/../../etc/passwd", "", nil) },
			[]int{http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusBadRequest}},
		// /metrics is served on METRICS_ADDR only.
		abuseCase{"POST /metrics", func(*inproc) *http.Request { return rawRequest(http.MethodPost, "/metrics", "", nil) }, []int{http.StatusNotFound}},
		abuseCase{"GET /metrics", func(*inproc) *http.Request { return rawRequest(http.MethodGet, "/metrics", "", nil) }, []int{http.StatusNotFound}},
		abuseCase{"POST /healthz", func(*inproc) *http.Request { return rawRequest(http.MethodPost, "/healthz", "", nil) }, []int{http.StatusMethodNotAllowed}},
	)

	for _, tc := range cases {
		w := ip.serve(tc.req(ip))
		allowed := false
		for _, code := range tc.want {
			allowed = allowed || w.Code == code
		}
		if !allowed || w.Code >= 500 {
			t.Errorf("%s = %d %q; want one of %v", tc.name, w.Code, trunc(w.Body.String(), 200), tc.want)
			continue
		}
		if w.Code == http.StatusOK && strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && strings.HasPrefix(tc.name, "/slack/commands") {
			var r slashReply
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || r.ResponseType != "ephemeral" {
				t.Errorf("%s = 200 %q; want a private (ephemeral) answer", tc.name, trunc(w.Body.String(), 200))
			}
		}
	}
	if calls := ip.settled(t, before); len(calls) != 0 { // anything wrongly queued has run by now
		t.Errorf("abusive requests made %d Bytemark calls: %v", len(calls), calls)
	}
	if n := ip.Purges("web2") + ip.Purges("web1"); n != 0 {
		t.Errorf("purges = %d", n)
	}
	for _, e := range ip.Slack.Calls("chat.postEphemeral") {
		if strings.Contains(e.Form.Get("text"), "panic") || strings.Contains(e.Form.Get("text"), "goroutine") {
			t.Errorf("a private answer shows internals: %q", e.Form.Get("text"))
		}
	}
	if logs := ip.logs.String(); strings.Contains(logs, "panic") {
		t.Errorf("the logs mention a panic:\n%s", logs)
	}
	t.Logf("%d abusive requests, %d private refusals", len(cases), len(ip.Slack.Calls("chat.postEphemeral")))
}
