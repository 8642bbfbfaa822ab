package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackapp"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
	"github.com/bytebot/bytebot/internal/slacktest"
)

// Benchmarks for the bot's hot paths (issue 8): Slack request verification,
// approval-card and result rendering, and answering help. None needs Redis
// or the Bytemark API. The verification benchmarks sign one request up
// front and re-sign it now and then, so that a long -benchtime never
// trips Slack's five-minute timestamp window.

// benchBody is a request body that can be rewound, so that a benchmark
// can send the same request again without allocating a new one.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

// benchSigned is a signed slash-command request, reusable across
// iterations.
type benchSigned struct {
	tb       testing.TB
	path     string
	body     []byte
	req      *http.Request
	rb       benchBody
	signedAt time.Time
	n        int
}

// newBenchSlash returns a signed slash command with text, as Slack sends
// it (the kit's, as the harness uses).
func newBenchSlash(tb testing.TB, text string) *benchSigned {
	tb.Helper()
	s := &benchSigned{tb: tb, path: slackapp.CommandsPath, body: slacktest.SlashBody(userAsker, chanOps, text)}
	s.sign()
	return s
}

func (s *benchSigned) sign() {
	s.signedAt = time.Now()
	s.req = slacktest.SignedRequest(testSecret, s.path, s.body, s.signedAt)
}

// next rewinds the request for another iteration, re-signing it once it
// is a minute old (looked at every 4096 iterations, to keep the clock
// out of the measurement).
func (s *benchSigned) next() *http.Request {
	if s.n++; s.n%4096 == 0 && time.Since(s.signedAt) > time.Minute {
		s.sign()
	}
	s.rb.Reset(s.body)
	s.req.Body = &s.rb
	return s.req
}

// benchServer is a bot with no Redis, Bytemark API or Slack behind it:
// enough for verification, help and rendering.
func benchServer(b *testing.B) *bot.Server {
	s := bot.New(bot.Config{SigningSecret: testSecret}, nil, nil, nil, nil)
	b.Cleanup(s.Close)
	return s
}

// BenchmarkVerifySignature measures Slack request verification on a signed
// slash command of realistic size (the testdata payload, about 400 bytes):
//
//   - middleware: the request path Handler() builds (request ID and
//     logging, the mux, then verified: body read, signature and
//     timestamp check, metrics), with a no-op in place of the command
//     handler;
//   - verifier: only slack.NewSecretsVerifier, Write and Ensure over the
//     body, the signature check itself;
//   - handler-help: the whole POST /slack/commands through Handler() for
//     `help`, which is answered without Redis: verification, form
//     parsing, Command and the JSON reply.
//
// Each HTTP iteration includes a fresh httptest.NewRecorder.
func BenchmarkVerifySignature(b *testing.B) {
	b.Run("middleware", func(b *testing.B) {
		s := benchServer(b)
		mux := http.NewServeMux()
		mux.Handle("POST "+slackapp.CommandsPath, slackapp.New(s).Verified("commands", func(w http.ResponseWriter, r *http.Request, body []byte) {}))
		h := slackapp.New(s).LogRequests(mux)
		req := newBenchSlash(b, "help")
		b.SetBytes(int64(len(req.body)))
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req.next())
			if w.Code != http.StatusOK {
				b.Fatalf("status = %d; want 200 (body %q)", w.Code, w.Body.String())
			}
		}
	})
	b.Run("verifier", func(b *testing.B) {
		req := newBenchSlash(b, "help")
		b.SetBytes(int64(len(req.body)))
		b.ReportAllocs()
		for b.Loop() {
			r := req.next()
			sv, err := slack.NewSecretsVerifier(r.Header, testSecret)
			if err == nil {
				_, err = sv.Write(req.body)
			}
			if err == nil {
				err = sv.Ensure()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handler-help", func(b *testing.B) {
		h := slackapp.New(benchServer(b)).Handler()
		req := newBenchSlash(b, "help")
		b.SetBytes(int64(len(req.body)))
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req.next())
			if w.Code != http.StatusOK || w.Body.Len() == 0 {
				b.Fatalf("status = %d, body %q; want 200 and the help", w.Code, w.Body.String())
			}
		}
	})
}

// benchTicket is a pending purge ticket for web1 with one of two approvals,
// built as TestCard builds it.
func benchTicket(b *testing.B) (approvals.Ticket, time.Time) {
	b.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	snap, err := bot.TakeSnapshot("web1", testServer(), "")
	if err != nil {
		b.Fatal(err)
	}
	return approvals.Ticket{
		ID: "tk1", Command: "purge web1", RequestedBy: userAsker, Channel: chanOps, Snapshot: snap.String(),
		Required: 2, State: approvals.StatePending, Approvers: []string{userAppr1},
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute),
		Meta: map[string]string{bot.MetaPower: "on", bot.MetaReason: "InstanceDown: web-1.example.com:9100 is down"},
	}, now
}

// benchRender runs render as a benchmark, with a /json sub-benchmark that
// also marshals the blocks, as they are sent to Slack. json_B reports the
// size of that JSON.
func benchRender(b *testing.B, render func() slackui.Message) {
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m := render(); len(m.Blocks) == 0 {
				b.Fatal("no blocks")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		for b.Loop() {
			js, err := json.Marshal(render().Blocks)
			if err != nil {
				b.Fatal(err)
			}
			size = len(js)
		}
		b.ReportMetric(float64(size), "json_B")
	})
}

// BenchmarkCard measures Block Kit rendering of an approval card: card()
// for a pending ticket (the card first posted, with its buttons) and an
// approved one (the update after the deciding vote), each with and
// without json.Marshal of the blocks.
func BenchmarkCard(b *testing.B) {
	tk, now := benchTicket(b)
	b.Run("pending", func(b *testing.B) {
		benchRender(b, func() slackui.Message { return bot.Card(tk, now, "") })
	})
	approved := tk
	approved.State, approved.Approvers = approvals.StateApproved, []string{userAppr1, userAppr2}
	b.Run("approved", func(b *testing.B) {
		benchRender(b, func() slackui.Message { return bot.Card(approved, now, "Purging web1…") })
	})
}

// BenchmarkResultMessage measures rendering a command's result as it is
// posted to the channel: `show` of one server (fields from the server,
// approved by two people) and `list` of 25 servers, each with and without
// json.Marshal of the blocks.
func BenchmarkResultMessage(b *testing.B) {
	srv := testServer()
	srv.ZoneName = "york"
	show := commands.Show{Target: "web1"}
	showRes := commands.Result{
		Summary: "web1.default.acme is on: 2 cores, 4 GiB memory, 2 discs (125 GiB)",
		Server:  srv,
	}
	b.Run("show", func(b *testing.B) {
		benchRender(b, func() slackui.Message {
			return slackui.Result(show, showRes, userAsker, []string{userAppr1, userAppr2})
		})
	})

	list := commands.List{}
	var servers []bytemark.Server
	for i := range 25 {
		servers = append(servers, bytemark.Server{
			ID: 100 + i, Name: fmt.Sprintf("web%d", i+1), Hostname: fmt.Sprintf("web%d.default.acme.uk0.bigv.io", i+1),
			Cores: 1 + i%4, Memory: 1024 << (i % 4), PowerOn: i%5 != 0,
		})
	}
	listRes := commands.Result{Summary: "25 servers in default.acme", Servers: servers}
	b.Run("list25", func(b *testing.B) {
		benchRender(b, func() slackui.Message { return slackui.Result(list, listRes, userAsker, nil) })
	})
}

// BenchmarkCommandHelp measures Server.Command answering help, which needs
// neither Redis nor the Bytemark API: authorization (none configured),
// parsing, the help text and the reply, plus the metric and log line. The
// request ID is given, as the HTTP path gives it.
func BenchmarkCommandHelp(b *testing.B) {
	s := benchServer(b)
	ctx := context.Background()
	for _, text := range []string{"help", "help disc add"} {
		b.Run(text, func(b *testing.B) {
			in := bot.Invocation{User: userAsker, Channel: chanOps, Text: text, RequestID: "bench"}
			b.ReportAllocs()
			for b.Loop() {
				if r := s.Command(ctx, in); r.Text == "" || r.InChannel {
					b.Fatalf("Command(%q) = %+v; want an ephemeral help text", text, r)
				}
			}
		})
	}
}

// BenchmarkCommandShow measures Server.Command acknowledging
// "show web1" with the real Redis, the fake Bytemark and the Slack
// stand-in behind it (issue 20): the policy, the read's start in Redis
// (one round trip) and the acknowledgement, while the reads run in the
// same process, as in production; it waits for every answer at the end,
// so the reads' cost is in the time per op too.
func BenchmarkCommandShow(b *testing.B) {
	h := newHarness(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		url := h.Slack.ResponseURL(userAsker, chanOps)
		in := bot.Invocation{User: userAsker, Channel: chanOps, Text: "show web1", RequestID: "bench",
			Key: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), ResponseURL: url}
		if r := h.Server.Command(ctx, in); !r.Interim {
			b.Fatalf("Command(show web1) = %+v; want the acknowledgement", r)
		}
	}
	h.WaitFor("every answer", func() bool { return h.Slack.Counts()["response_url"] >= i })
}
