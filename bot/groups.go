package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// groupCache remembers the members of Slack user groups for a while, so that
// checking APPROVERS or ALLOWED_USERS rarely calls Slack in a request's path.
type groupCache struct {
	ttl    time.Duration
	poster Poster

	mu      sync.Mutex
	entries map[string]groupEntry
}

type groupEntry struct {
	members []string
	fetched time.Time
}

func newGroupCache(ttl time.Duration, p Poster) *groupCache {
	return &groupCache{ttl: ttl, poster: p, entries: make(map[string]groupEntry)}
}

// isGroup reports whether id names a user group rather than a user.
func isGroup(id string) bool { return strings.HasPrefix(id, "S") }

// members returns the members of group, from the cache when it is fresh.
// When Slack fails, a stale entry is better than nothing.
func (g *groupCache) members(ctx context.Context, group string, now time.Time) ([]string, error) {
	g.mu.Lock()
	e, ok := g.entries[group]
	g.mu.Unlock()
	if ok && now.Sub(e.fetched) < g.ttl {
		return e.members, nil
	}
	members, err := g.poster.GroupMembers(ctx, group)
	if err != nil {
		if ok {
			return e.members, nil
		}
		return nil, fmt.Errorf("bot: members of user group %s: %w", group, err)
	}
	g.mu.Lock()
	g.entries[group] = groupEntry{members: members, fetched: now}
	g.mu.Unlock()
	return members, nil
}

// expand turns a list of user and group IDs into the user IDs it names.
func (s *Server) expand(ctx context.Context, ids []string) ([]string, error) {
	var users []string
	for _, id := range ids {
		if !isGroup(id) {
			users = append(users, id)
			continue
		}
		members, err := s.groups.members(ctx, id, s.Now())
		if err != nil {
			return nil, err
		}
		users = append(users, members...)
	}
	return users, nil
}

// listed reports whether user is in ids, directly or through a group.
func (s *Server) listed(ctx context.Context, ids []string, user string) (bool, error) {
	var groups []string
	for _, id := range ids {
		if id == user {
			return true, nil
		}
		if isGroup(id) {
			groups = append(groups, id)
		}
	}
	for _, gid := range groups {
		members, err := s.groups.members(ctx, gid, s.Now())
		if err != nil {
			return false, err
		}
		for _, m := range members {
			if m == user {
				return true, nil
			}
		}
	}
	return false, nil
}
