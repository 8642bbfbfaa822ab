package commands_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
)

// TestRunWithClient runs actions through the real client against the fake
// Bytemark API.
func TestRunWithClient(t *testing.T) {
	fake := bytemarktest.NewServer()
	defer fake.Close()
	c, err := bytemark.NewClient(fake.Client(), bytemark.Options{
		APIURL: fake.URL(), AuthURL: fake.URL(), APIKey: bytemarktest.APIKey, Account: "acme",
		PowerTimeout: 10 * time.Second, PollInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in          string
		wantSummary string
	}{
		{"list", "servers in the default group"},
		{"show web1", "web1.default.acme is "},
		{"discs web1", "web1 has "},
		{"disc add web1 logs 10G ssd", "Added disc logs (10 GiB, ssd) to web1"},
		{"disc resize web1 logs 20G", "Disc logs on web1 resized from 10 GiB to 20 GiB"},
		{"disc purge web1 logs", "Disc logs (20 GiB, ssd) on web1 purged"},
		{"stop web2", "web2.default.acme stopped (was on, now off)"},
		{"start web2", "web2.default.acme started (was off, now on)"},
		{"reboot web2 reset", "web2.default.acme rebooted by reset (was on, now on)"},
		{"reboot web2 cycle", "web2.default.acme rebooted by power cycle (was on, now on)"},
		{"restart web2", "web2.default.acme restarted (was on, now on)"},
		{"shutdown web2", "web2.default.acme shut down (was on, now off)"},
		{"delete db1", "db1 deleted"},
		{"undelete db1", "db1 undeleted"},
	}
	for _, tt := range tests {
		a, err := commands.Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q) = %v", tt.in, err)
		}
		res, err := commands.Run(t.Context(), c, a)
		if err != nil {
			t.Errorf("Run(%q) = %v (calls %q)", tt.in, err, res.Calls)
			continue
		}
		if !strings.Contains(res.Summary, tt.wantSummary) {
			t.Errorf("Run(%q) summary = %q; want it to contain %q", tt.in, res.Summary, tt.wantSummary)
		}
		if len(res.Calls) == 0 {
			t.Errorf("Run(%q) recorded no calls", tt.in)
		}
	}

	// What follows the account must be the suffix of the API's hostname
	// for the server: the right one works, anything else is refused with
	// a clear message and changes nothing.
	a, _ := commands.Parse("show web1.default.acme.uk0.bigv.io")
	if res, err := commands.Run(t.Context(), c, a); err != nil || !strings.Contains(res.Summary, "web1.default.acme is ") {
		t.Errorf("Run(show with the hostname) = %+v, %v", res, err)
	}
	for _, in := range []string{"purge web1.default.acme.uk1.bigv.io", "show web1.default.acme.uk0.bigv.io.evil.com", "delete web2.default.acme.evil"} {
		a, err := commands.Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q) = %v", in, err)
		}
		res, err := commands.Run(t.Context(), c, a)
		var u *commands.UsageError
		if !errors.As(err, &u) || !bytemark.IsWrongSuffix(err) || !strings.Contains(u.Msg, "must be exactly `uk0.bigv.io`") {
			t.Errorf("Run(%q) = %+v, %v; want a usage error about the suffix", in, res, err)
		}
	}
	for _, name := range []string{"web1", "web2"} {
		if s, ok := fake.Server("acme", "default", name); !ok || s.Deleted {
			t.Errorf("%s = %+v, %v; want it untouched", name, s, ok)
		}
	}

	a, _ = commands.Parse("show nope")
	_, err = commands.Run(t.Context(), c, a)
	var u *commands.UsageError
	if !errors.As(err, &u) || !strings.Contains(u.Msg, "I can't find server `nope`") || !bytemark.IsNotFound(err) {
		t.Errorf("Run(show nope) = %v; want a not-found usage error", err)
	}
}
