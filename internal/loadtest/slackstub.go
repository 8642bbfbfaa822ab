package main

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// slackStub stands in for the Slack Web API on loopback: it answers every
// method at once with {"ok":true,...}, counts the calls, and, when asked,
// collects the approval cards posted (their Approve buttons) so that the
// harness can click them.
type slackStub struct {
	srv *http.Server
	url string // base URL, ending in /api/

	calls   atomic.Int64 // all calls
	posts   atomic.Int64 // chat.postMessage
	updates atomic.Int64 // chat.update
	seq     atomic.Int64
	last    atomic.Int64 // unix nanos of the last call

	collect atomic.Bool
	mu      sync.Mutex
	methods map[string]int
	cards   []ticket
	// ephemerals keeps the first few ephemeral texts (refusals, errors).
	ephemerals []string
}

func startSlackStub() (*slackStub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &slackStub{methods: map[string]int{}}
	s.url = "http://" + ln.Addr().String() + "/api/"
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *slackStub) Close() { s.srv.Close() }

// ServeHTTP answers one Web API call like Slack does (200 with a JSON body
// whose "ok" is true).
func (s *slackStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	s.calls.Add(1)
	s.last.Store(time.Now().UnixNano())
	s.mu.Lock()
	s.methods[method]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch method {
	case "chat.postMessage":
		s.posts.Add(1)
		ts := s.ts()
		ch := field(r, body, "channel")
		if s.collect.Load() {
			if t, ok := cardTicket(field(r, body, "blocks"), field(r, body, "text")); ok {
				t.Channel, t.TS = ch, ts
				s.mu.Lock()
				s.cards = append(s.cards, t)
				s.mu.Unlock()
			}
		}
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q,"message":{"type":"message","ts":%q}}`, ch, ts, ts)
	case "chat.update":
		s.updates.Add(1)
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q,"text":""}`, field(r, body, "channel"), field(r, body, "ts"))
	case "chat.postEphemeral":
		text := field(r, body, "text")
		s.mu.Lock()
		if len(s.ephemerals) < 5 {
			s.ephemerals = append(s.ephemerals, text)
		}
		s.mu.Unlock()
		fmt.Fprintf(w, `{"ok":true,"message_ts":%q}`, s.ts())
	case "usergroups.users.list":
		fmt.Fprint(w, `{"ok":true,"users":[]}`)
	case "auth.test":
		fmt.Fprint(w, `{"ok":true,"url":"https://loadtest.slack.com/","team":"loadtest","user":"bytebot","team_id":"`+teamID+`","user_id":"U0BOT","bot_id":"B0LOAD"}`)
	default:
		fmt.Fprint(w, `{"ok":true}`)
	}
}

// ts returns a message timestamp unique to this stand-in.
func (s *slackStub) ts() string {
	n := s.seq.Add(1)
	return fmt.Sprintf("%d.%06d", 1700000000+n/1000000, n%1000000)
}

// field returns a field of a Web API call's form or JSON body.
func field(r *http.Request, body []byte, name string) string {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			return ""
		}
		raw := m[name]
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	if r.Method == http.MethodGet {
		return r.URL.Query().Get(name)
	}
	v, _ := url.ParseQuery(string(body))
	return v.Get(name)
}

// cardTicket finds the Approve button in a message's blocks (JSON): its
// value is the ticket ID and its block ID binds it to a channel.
func cardTicket(blocks, text string) (ticket, bool) {
	if !strings.Contains(blocks, `"approve"`) {
		return ticket{}, false
	}
	var bs []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if json.Unmarshal([]byte(blocks), &bs) != nil {
		return ticket{}, false
	}
	for _, b := range bs {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.ActionID == "approve" && e.Value != "" {
				t := ticket{ID: e.Value, BlockID: b.BlockID}
				// The fallback text names the requester as a mention.
				if i := strings.Index(text, "<@"); i >= 0 {
					if j := strings.IndexByte(text[i:], '>'); j > 0 {
						t.Requester = text[i+2 : i+j]
					}
				}
				return t, true
			}
		}
	}
	return ticket{}, false
}

// startCollecting forgets the cards collected so far and collects new ones.
func (s *slackStub) startCollecting() {
	s.mu.Lock()
	s.cards = nil
	s.mu.Unlock()
	s.collect.Store(true)
}

// collected returns the cards collected so far whose requester's ID
// starts with user (slashLoad's people).
func (s *slackStub) collected(user string) []ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []ticket
	for _, t := range s.cards {
		if strings.HasPrefix(t.Requester, user) {
			ts = append(ts, t)
		}
	}
	return ts
}

// methodCounts returns how often each method was called.
func (s *slackStub) methodCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.methods))
	for k, v := range s.methods {
		m[k] = v
	}
	return m
}

// quiet waits until no call has arrived for idle (the bot's executor has
// drained its queue), or until timeout. It returns how long after since
// the last call came (0 if none came after since), and whether it became
// quiet.
func (s *slackStub) quiet(since time.Time, idle, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	for {
		last := time.Unix(0, s.last.Load())
		if time.Since(last) >= idle {
			return max(0, last.Sub(since)), true
		}
		if time.Since(start) > timeout {
			return max(0, last.Sub(since)), false
		}
		time.Sleep(idle / 10)
	}
}

// ephemeralSamples returns the first few ephemeral texts posted.
func (s *slackStub) ephemeralSamples() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ephemerals)
}
