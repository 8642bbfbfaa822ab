package main

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bytebot/bytebot/internal/slacktest"
)

// slackStub is internal/slacktest's Web API stand-in in its lean mode (it
// keeps no calls, only counts them), plus what the harness needs of it:
// the approval cards posted while collecting (to click their Approve
// buttons), the first few ephemeral texts, and whether the bot has gone
// quiet.
type slackStub struct {
	*slacktest.API
	url string // SLACK_API_URL

	mu         sync.Mutex
	collect    bool
	cards      []ticket
	ephemerals []string // the first few ephemeral texts (refusals, errors)
	// answered is when each response_url was first posted to (the
	// command's answer): the end of a request, end to end.
	answered map[string]time.Time
	views    []string // the IDs of the modals opened (views.open), oldest first
}

func startSlackStub() (*slackStub, error) {
	api := slacktest.Start(slacktest.Options{Token: "*", TeamID: teamID, TeamDomain: "loadtest", BotUserID: "U0BOT",
		BotID: "B0LOAD", AppID: appID, Discard: true})
	s := &slackStub{API: api, url: api.URL(), answered: map[string]time.Time{}}
	api.OnCall(s.saw)
	return s, nil
}

// saw collects what the harness keeps of call c.
func (s *slackStub) saw(c slacktest.Call) {
	switch c.Method {
	case "chat.postMessage":
		s.mu.Lock()
		collect := s.collect
		s.mu.Unlock()
		if !collect {
			return
		}
		if t, ok := slacktest.CardOf(c); ok {
			s.mu.Lock()
			s.cards = append(s.cards, t)
			s.mu.Unlock()
		}
	case "response_url":
		if c.OK() {
			s.mu.Lock()
			if _, ok := s.answered[c.URL]; !ok {
				s.answered[c.URL] = c.At
			}
			s.mu.Unlock()
		}
	case "views.open":
		if c.OK() {
			s.mu.Lock()
			s.views = append(s.views, c.TS)
			s.mu.Unlock()
		}
	case "chat.postEphemeral":
		s.mu.Lock()
		if len(s.ephemerals) < 5 {
			s.ephemerals = append(s.ephemerals, c.Form.Get("text"))
		}
		s.mu.Unlock()
	}
}

// startCollecting forgets the cards collected so far and collects new ones.
func (s *slackStub) startCollecting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cards = nil
	s.collect = true
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
func (s *slackStub) methodCounts() map[string]int { return s.Counts() }

// quiet waits until no call has arrived for idle (the bot's executor has
// drained its queue), or until timeout. It returns how long after since
// the last call came (0 if none came after since), and whether it became
// quiet.
func (s *slackStub) quiet(since time.Time, idle, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	for {
		last := s.LastCall()
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

// answeredAt returns when responseURL was first posted to.
func (s *slackStub) answeredAt(responseURL string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.answered[responseURL]
	return t, ok
}

// openedViews returns the modals opened since the last call, as last
// updated (the stand-in keeps them with Discard too).
func (s *slackStub) openedViews() []slacktest.View {
	s.mu.Lock()
	ids := s.views
	s.views = nil
	s.mu.Unlock()
	var vs []slacktest.View
	for _, id := range ids {
		if v, ok := s.View(id); ok {
			vs = append(vs, v)
		}
	}
	return vs
}
