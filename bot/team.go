package bot

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The Slack workspace the bot serves. A Slack app installed in several
// workspaces signs all their requests with the same signing secret, so a
// valid signature does not say the request came from the bot's own
// workspace: its team_id must.
//
// With Config.TeamID set (SLACK_TEAM_ID) that is the workspace. Otherwise
// main calls LearnTeam, which asks Slack (auth.test) which workspace the
// bot token belongs to; until the answer comes every Slack request is
// refused, as the bot cannot tell its own people from anyone else's. A
// Server given neither (the console, library use) checks nothing.

// teamGate holds the workspace requests must come from.
type teamGate struct {
	mu       sync.RWMutex
	id       string // the bot's workspace, once known
	learning bool   // LearnTeam was called: refuse until id is known
}

// Answers to requests the team check refuses.
const (
	msgOtherTeam   = "Sorry, this bot only serves its own Slack workspace."
	msgTeamUnknown = "The bot is still starting (it hasn't confirmed its Slack workspace yet); try again in a moment."
)

// ErrOtherTeam and ErrTeamUnknown say why a request was refused.
var (
	ErrOtherTeam   = errors.New("request from another Slack workspace")
	ErrTeamUnknown = errors.New("the bot's Slack workspace is not known yet")
)

// CheckTeam reports whether a Slack request from team may be served: nil,
// ErrOtherTeam or ErrTeamUnknown. A refusal is logged at WARN.
func (s *Server) CheckTeam(team, route, user string) error {
	s.team.mu.RLock()
	id, learning := s.team.id, s.team.learning
	s.team.mu.RUnlock()
	var err error
	switch {
	case id != "" && team != id:
		err = ErrOtherTeam
	case id == "" && learning:
		err = ErrTeamUnknown
	default:
		return nil
	}
	s.Logger.Warn("refused Slack request", "why", err.Error(), "route", route, "team", team, "user", user)
	return err
}

// TeamRefusal is the answer to a person whose request CheckTeam refused.
func TeamRefusal(err error) Reply {
	if errors.Is(err, ErrTeamUnknown) {
		return ephemeral(msgTeamUnknown)
	}
	return ephemeral(msgOtherTeam)
}

// TeamID returns the workspace the bot serves, "" while it is not known.
func (s *Server) TeamID() string {
	s.team.mu.RLock()
	defer s.team.mu.RUnlock()
	return s.team.id
}

// LearnTeam learns the bot's workspace from authTest (Slack's auth.test,
// which answers the team of the bot token), unless Config.TeamID gave it.
// From the call on, Slack requests are refused until the workspace is
// known. The first attempt is made before LearnTeam returns (bounded by
// a few seconds); if it fails, LearnTeam keeps trying in the background,
// backing off up to a minute between attempts, until it succeeds or ctx
// ends. Close waits for that.
func (s *Server) LearnTeam(ctx context.Context, authTest func(context.Context) (string, error)) {
	s.team.mu.Lock()
	if s.team.id != "" {
		s.team.mu.Unlock()
		return
	}
	s.team.learning = true
	s.team.mu.Unlock()
	try := func() bool {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		id, err := authTest(actx)
		if err == nil && id == "" {
			err = errors.New("auth.test answered no team_id")
		}
		if err != nil {
			s.Logger.Warn("learning the bot's Slack workspace (auth.test); Slack requests are refused until it is known: set SLACK_TEAM_ID to not depend on it", "err", err)
			return false
		}
		s.team.mu.Lock()
		s.team.id = id
		s.team.mu.Unlock()
		s.Logger.Info("serving Slack workspace", "team", id)
		return true
	}
	if try() {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		wait := time.Second
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if try() {
				return
			}
			wait = min(2*wait, time.Minute)
		}
	}()
}
