package approvals

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Before Redis Cluster was supported, keys were Options.Prefix followed by
// their name ("bytebot:ticket:…"); now the prefix is a hash tag
// ("{bytebot}:ticket:…", KeyPrefix).

// legacyNames are the keys a Store named before the hash tag: the exact
// names, and the starts of the names with an ID or key after them.
var (
	legacyExact  = []string{"pending", "queue", "sched", "sched:jobs", "audit"}
	legacyPrefix = []string{"ticket:", "job:", "once:", "repeat:", "lock:", "cooldown:", "rate:", "distinct:"}
)

// MoveLegacyKeys renames the keys a bytebot before the hash tag left under
// Options.Prefix to their names now, so that an upgrade keeps pending
// tickets, queued and delayed jobs, cooldowns, locks and the audit log. It
// returns how many keys it moved.
//
// Only keys of the Store's own shapes are moved (another bot's prefix that
// starts with this one is left alone), and a key whose new name is taken is
// left where it is. When done it leaves a marker key, so a later call costs
// one round trip. It does nothing when the prefix held a hash tag already,
// and on Cluster, where no version before could run. Run it at startup,
// before Load, with the processes of the old version stopped: what they
// write afterwards under the old names is not seen. (A work queue that Load
// made already is replaced by the old one while it is empty.)
func (s *Store) MoveLegacyKeys(ctx context.Context) (int, error) {
	old := s.legacy
	if old == "" || old == s.prefix {
		return 0, nil
	}
	if _, ok := s.rdb.(*redis.ClusterClient); ok {
		return 0, nil
	}
	marker := s.key("moved-legacy-keys")
	if n, err := s.rdb.Exists(ctx, marker).Result(); err != nil || n == 1 {
		return 0, wrapLegacy(err)
	}
	moved := 0
	iter := s.rdb.Scan(ctx, 0, globEscape(old)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		rest := strings.TrimPrefix(k, old)
		if !legacyShape(rest) {
			continue
		}
		ok, err := s.rdb.RenameNX(ctx, k, s.prefix+rest).Result()
		if err == nil && !ok && rest == "queue" {
			// Load (of this process or another) made the new queue
			// already; while it is empty the old one replaces it.
			if n, lerr := s.rdb.XLen(ctx, s.prefix+rest).Result(); lerr == nil && n == 0 {
				err = s.rdb.Rename(ctx, k, s.prefix+rest).Err()
				ok = err == nil
			}
		}
		if err != nil && !strings.Contains(err.Error(), "no such key") { // another process moved it
			return moved, wrapLegacy(err)
		}
		if ok {
			moved++
		}
	}
	if err := iter.Err(); err != nil {
		return moved, wrapLegacy(err)
	}
	return moved, wrapLegacy(s.rdb.Set(ctx, marker, "1", 0).Err())
}

func wrapLegacy(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("approvals: moving keys to their hash-tagged names: %w", err)
}

func legacyShape(rest string) bool {
	for _, e := range legacyExact {
		if rest == e {
			return true
		}
	}
	for _, p := range legacyPrefix {
		if strings.HasPrefix(rest, p) && len(rest) > len(p) {
			return true
		}
	}
	return false
}

// globEscape escapes the characters special to SCAN's MATCH.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
