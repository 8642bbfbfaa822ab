package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bytebot/bytebot/bot/slackui"
)

// groupCache remembers the members of Slack user groups for a while, so that
// checking the policy's roles (APPROVERS, ALLOWED_USERS, a POLICY_FILE's) rarely calls Slack in a request's path.
// When Slack can't be asked, membership read up to maxAge ago still counts;
// older membership doesn't (a person removed from the group must stop
// counting, even while Slack is unreachable).
type groupCache struct {
	ttl, maxAge time.Duration
	poster      Poster

	mu      sync.Mutex
	entries map[string]groupEntry
}

type groupEntry struct {
	members []string
	fetched time.Time
}

func newGroupCache(ttl, maxAge time.Duration, p Poster) *groupCache {
	return &groupCache{ttl: min(ttl, maxAge), maxAge: maxAge, poster: p, entries: make(map[string]groupEntry)}
}

// A groupError says that a user group's members could not be read from
// Slack, and none read recently enough (within maxAge) are known.
type groupError struct {
	Group   string
	Fetched time.Time     // when the members were last read; zero if never
	MaxAge  time.Duration // USERGROUP_MAX_AGE
	Err     error         // Slack's answer
}

func (e *groupError) Error() string {
	return fmt.Sprintf("bot: members of user group %s: %v", e.Group, e.Err)
}

func (e *groupError) Unwrap() error { return e.Err }

// why explains to a person why the group's members can't do what (e.g.
// "approve") now.
func (e *groupError) why(what string) string {
	g := "<!subteam^" + e.Group + ">"
	if e.Fetched.IsZero() {
		return fmt.Sprintf("I couldn't check the membership of %s with Slack, so its members can't %s until Slack answers.", g, what)
	}
	return fmt.Sprintf("I couldn't check the membership of %s with Slack for over %s (USERGROUP_MAX_AGE), "+
		"so its members can't %s until Slack answers again.", g, slackui.Roughly(e.MaxAge), what)
}

// isGroup reports whether id names a user group rather than a user.
func isGroup(id string) bool { return strings.HasPrefix(id, "S") }

// members returns the members of group, from the cache when it is fresh.
// When Slack fails, members read less than maxAge ago still count; else
// the error is a *groupError.
func (g *groupCache) members(ctx context.Context, group string, now time.Time) ([]string, error) {
	g.mu.Lock()
	e, ok := g.entries[group]
	g.mu.Unlock()
	if ok && now.Sub(e.fetched) < g.ttl {
		return e.members, nil
	}
	members, err := g.poster.GroupMembers(ctx, group)
	if err != nil {
		if ok && now.Sub(e.fetched) < g.maxAge {
			return e.members, nil
		}
		return nil, &groupError{Group: group, Fetched: e.fetched, MaxAge: g.maxAge, Err: err}
	}
	g.mu.Lock()
	g.entries[group] = groupEntry{members: members, fetched: now}
	g.mu.Unlock()
	return members, nil
}

// expand turns a list of user and group IDs into the user IDs it names.
// Groups whose members can't be known now (a *groupError) are left out and
// returned apart, so that the others still count; any other error ends it.
func (s *Server) expand(ctx context.Context, ids []string) ([]string, []*groupError, error) {
	var users []string
	var unknown []*groupError
	for _, id := range ids {
		if !isGroup(id) {
			users = append(users, id)
			continue
		}
		members, err := s.groups.members(ctx, id, s.Now())
		var ge *groupError
		switch {
		case errors.As(err, &ge):
			unknown = append(unknown, ge)
		case err != nil:
			return nil, nil, err
		}
		users = append(users, members...)
	}
	return users, unknown, nil
}
