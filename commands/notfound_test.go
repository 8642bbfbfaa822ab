package commands_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/commands"
)

// TestNotFoundHelps: a server that isn't found is answered with the group
// searched and what was probably meant; a group that isn't found, with the
// groups there are; and list shows deleted servers, marked.
func TestNotFoundHelps(t *testing.T) {
	fake, c := newClient(t)
	for _, tt := range []struct{ in, want string }{
		{"show stage1", "I can't find server `stage1` in group `default` of account `acme` (or this bot's Bytemark account can't see it). Did you mean `stage1.staging`?"},
		{"show wbe1", "Did you mean `web1`?"},
		{"start wbe1", "Did you mean `web1`?"},
		{"show zzzzzz", "`/bytemark list default` shows its servers."},
		{"list nogroup", "There's no group `nogroup` in account `acme`; its groups are `default` and `staging`."},
	} {
		_, err := run(t, c, tt.in)
		var u *commands.UsageError
		if !errors.As(err, &u) || !strings.Contains(u.Msg, tt.want) {
			t.Errorf("%s: error %v; want a usage error containing %q", tt.in, err, tt.want)
		}
	}
	if _, err := run(t, c, "delete web2"); err != nil {
		t.Fatal(err)
	}
	res, err := run(t, c, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Summary, "2 servers in the default group, and 2 deleted") {
		t.Errorf("list summary = %q; want it to count the deleted server", res.Summary)
	}
	var names []string
	for _, s := range res.Servers {
		names = append(names, s.Name+map[bool]string{true: "(deleted)"}[s.Deleted])
	}
	if got := strings.Join(names, " "); got != "db1 web1 stage2 old1(deleted) web2(deleted)" && !strings.HasSuffix(got, "old1(deleted) web2(deleted)") {
		t.Errorf("list servers = %s; want the deleted old1 and web2 last, marked", got)
	}
	_ = fake
}
