package bytemark_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

// TestAgainstFake runs the real client against the in-memory fake through
// the power, delete and disc flows, logging in with an API key and with a
// username and password.
func TestAgainstFake(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"apikey", "password"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			fake := bytemarktest.NewServer()
			t.Cleanup(fake.Close)
			opts := bytemark.Options{
				APIURL: fake.URL(), AuthURL: fake.URL(), UserAgent: "bytebot-test",
				PollInterval: time.Millisecond, PowerTimeout: 300 * time.Millisecond,
			}
			if mode == "apikey" {
				opts.APIKey = bytemarktest.APIKey
			} else {
				opts.Username, opts.Password = bytemarktest.Username, bytemarktest.Password
			}
			c, err := bytemark.NewClient(fake.Client(), opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			testFakeReads(ctx, t, c)
			testFakePower(ctx, t, c, fake)
			testFakeDiscs(ctx, t, c, fake)
			testFakeDelete(ctx, t, c, fake)
			testFakeAccess(ctx, t, c, fake)

			for _, r := range fake.Requests() {
				if r.Path == "/definitions" || r.Path == "/session" {
					continue
				}
				want := bytemarktest.AuthAPIKey
				if mode == "password" {
					want = bytemarktest.AuthSession
				}
				if r.Auth != want || r.Header.Get("Accept") != "application/json" ||
					r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "bytebot-test" {
					t.Errorf("%s %s: auth %s, headers %v", r.Method, r.Path, r.Auth, r.Header)
				}
			}
			if got := fake.Calls("GET", "/accounts"); got == 0 {
				t.Error("no GET /accounts")
			}
			switch mode {
			case "apikey":
				if got := fake.Calls("", "/session"); got != 0 {
					t.Errorf("auth host contacted %d times with an API key", got)
				}
			case "password":
				if got := fake.Calls("POST", "/session"); got != 1 {
					t.Errorf("%d logins, want 1", got)
				}
				fake.ExpireSessions()
				if err := c.Ping(ctx); err != nil {
					t.Errorf("Ping after the session expired: %v", err)
				}
				if got := fake.Calls("POST", "/session"); got != 2 {
					t.Errorf("%d logins after expiry, want 2", got)
				}
			}
		})
	}
}

func testFakeReads(ctx context.Context, t *testing.T, c *bytemark.Client) {
	t.Helper()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	defs, err := c.Definitions(ctx)
	if err != nil || !slices.Contains(defs.StorageGrades, "sata") {
		t.Errorf("Definitions = %+v, %v", defs, err)
	}
	accounts, err := c.Accounts(ctx)
	if err != nil || len(accounts) == 0 || accounts[0].Name != "acme" {
		t.Fatalf("Accounts = %+v, %v; want acme first", accounts, err)
	}
	n, err := c.ResolveName(ctx, "web1")
	if want := (bytemark.Name{Server: "web1", Group: "default", Account: "acme"}); err != nil || n != want {
		t.Errorf("ResolveName(web1) = %v, %v; want %v (default account looked up)", n, err, want)
	}
	groups, err := c.Groups(ctx, "")
	if err != nil || len(groups) < 2 {
		t.Errorf("Groups = %+v, %v", groups, err)
	}
	servers, err := c.ListServers(ctx, "")
	var names []string
	for _, s := range servers {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if err != nil || !slices.Equal(names, []string{"db1", "web1", "web2"}) {
		t.Errorf("ListServers = %v, %v; want db1 web1 web2 (old1 is deleted)", names, err)
	}
	staging, err := c.ListServers(ctx, "staging.acme")
	if err != nil || len(staging) != 1 || staging[0].Name != "stage1" {
		t.Errorf("ListServers(staging.acme) = %+v, %v", staging, err)
	}
	s, err := c.GetServer(ctx, "web1.default.acme.uk0.bigv.io")
	if err != nil || s.Hostname != "web1.default.acme.uk0.bigv.io" || !s.PowerOn || len(s.Discs) == 0 || len(s.NetworkInterfaces) == 0 {
		t.Errorf("GetServer(web1) = %+v, %v", s, err)
	}
	if _, err := c.GetServer(ctx, "nosuch"); !bytemark.IsNotFound(err) {
		t.Errorf("GetServer(nosuch) error = %v, want 404", err)
	}
}

func testFakePower(ctx context.Context, t *testing.T, c *bytemark.Client, fake *bytemarktest.Server) {
	t.Helper()
	power := func(step string, wantOn, wantAutoreboot bool) {
		t.Helper()
		s, ok := fake.Server("acme", "default", "web1")
		if !ok || s.PowerOn != wantOn || s.AutorebootOn != wantAutoreboot {
			t.Errorf("after %s: power_on %v autoreboot_on %v; want %v %v", step, s.PowerOn, s.AutorebootOn, wantOn, wantAutoreboot)
		}
	}
	steps := []struct {
		name               string
		do                 func(context.Context, string) error
		wantOn, wantReboot bool
	}{
		{"stop", c.StopServer, false, false},
		{"start", c.StartServer, true, true},
		{"reset", c.ResetServer, true, true},
		{"shutdown", c.ShutdownServer, false, false},
		{"start again", c.StartServer, true, true},
		{"restart", c.RestartServer, true, true},
		{"cycle", c.CycleServer, true, true},
	}
	fake.SetPowerdownDelay(20 * time.Millisecond) // shutdown has to poll
	for _, s := range steps {
		if err := s.do(ctx, "web1"); err != nil {
			t.Fatalf("%s web1: %v", s.name, err)
		}
		power(s.name, s.wantOn, s.wantReboot)
	}
	fake.SetPowerdownDelay(0)

	// A wedged guest: shutdown and restart time out and say so; restart
	// starts nothing.
	fake.HangOnPowerdown("acme", "default", "web2", true)
	for _, do := range []func(context.Context, string) error{c.ShutdownServer, c.RestartServer} {
		puts := fake.Calls("PUT", "/web2")
		err := do(ctx, "web2")
		var pt *bytemark.PowerTimeoutError
		if !errors.As(err, &pt) || !pt.PowerOn || pt.Server != "web2.default.acme" {
			t.Fatalf("error = %v, want *PowerTimeoutError", err)
		}
		if got := fake.Calls("PUT", "/web2") - puts; got != 1 {
			t.Errorf("%s: %d PUTs, want 1 (autoreboot off, nothing started)", pt.Action, got)
		}
	}
	if s, _ := fake.Server("acme", "default", "web2"); !s.PowerOn || s.AutorebootOn {
		t.Errorf("web2 after the timeouts: %+v, want on with autoreboot off", s)
	}
	fake.HangOnPowerdown("acme", "default", "web2", false)
}

func testFakeDiscs(ctx context.Context, t *testing.T, c *bytemark.Client, fake *bytemarktest.Server) {
	t.Helper()
	before, err := c.Discs(ctx, "db1")
	if err != nil || len(before) == 0 {
		t.Fatalf("Discs(db1) = %+v, %v", before, err)
	}
	d, err := c.AddDisc(ctx, "db1", bytemark.DiscSpec{Label: "logs", SizeMiB: 10240, StorageGrade: "archive"})
	if err != nil || d.Label != "logs" || d.Size != 10240 || d.StorageGrade != "archive" || d.ID == 0 {
		t.Fatalf("AddDisc = %+v, %v", d, err)
	}
	if _, err := c.AddDisc(ctx, "db1", bytemark.DiscSpec{Label: "vdb", SizeMiB: 1024}); err == nil {
		t.Error("AddDisc(vdb) succeeded")
	}
	d, err = c.ResizeDisc(ctx, "db1", "logs", 20480)
	if err != nil || d.Size != 20480 {
		t.Errorf("ResizeDisc(grow) = %+v, %v", d, err)
	}
	puts := fake.Calls("PUT", "/discs/")
	if _, err := c.ResizeDisc(ctx, "db1", "logs", 10240); err == nil {
		t.Error("ResizeDisc(shrink) succeeded")
	}
	if got := fake.Calls("PUT", "/discs/"); got != puts {
		t.Error("a shrink was sent to the API")
	}
	if err := c.PurgeDisc(ctx, "db1", "logs"); err != nil {
		t.Errorf("PurgeDisc: %v", err)
	}
	if _, err := c.ResizeDisc(ctx, "db1", "logs", 40960); !bytemark.IsNotFound(err) {
		t.Errorf("ResizeDisc(purged disc) error = %v, want 404", err)
	}
	after, err := c.Discs(ctx, "db1")
	if err != nil || len(after) != len(before) {
		t.Errorf("Discs after add and purge = %+v, %v; want %d discs", after, err, len(before))
	}

	// Fill web1 up to MaxDiscs; the next is refused before a POST.
	s, _ := fake.Server("acme", "default", "web1")
	for i := len(s.Discs); i < bytemark.MaxDiscs; i++ {
		label := "extra-" + string(rune('a'+i))
		if _, err := c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: label, SizeMiB: 1024}); err != nil {
			t.Fatalf("AddDisc(%s): %v", label, err)
		}
	}
	posts := fake.Calls("POST", "/discs")
	if _, err := c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "ninth", SizeMiB: 1024}); err == nil {
		t.Error("a ninth disc was added")
	}
	if got := fake.Calls("POST", "/discs"); got != posts {
		t.Error("a ninth disc was POSTed")
	}
}

func testFakeDelete(ctx context.Context, t *testing.T, c *bytemark.Client, fake *bytemarktest.Server) {
	t.Helper()
	if err := c.DeleteServer(ctx, "web2"); err != nil {
		t.Fatalf("DeleteServer: %v", err)
	}
	if s, err := c.GetServer(ctx, "web2"); err != nil || !s.Deleted {
		t.Errorf("GetServer(deleted web2) = %+v, %v", s, err)
	}
	servers, _ := c.ListServers(ctx, "default")
	for _, s := range servers {
		if s.Name == "web2" {
			t.Error("ListServers shows deleted web2")
		}
	}
	if err := c.UndeleteServer(ctx, "web2"); err != nil {
		t.Errorf("UndeleteServer: %v", err)
	}
	if s, _ := fake.Server("acme", "default", "web2"); s.Deleted {
		t.Error("web2 still deleted")
	}
	if err := c.PurgeServer(ctx, "web2"); err != nil {
		t.Errorf("PurgeServer: %v", err)
	}
	if _, ok := fake.Server("acme", "default", "web2"); ok {
		t.Error("web2 still exists after purge")
	}
	if _, err := c.GetServer(ctx, "web2"); !bytemark.IsNotFound(err) {
		t.Errorf("GetServer(purged) error = %v, want 404", err)
	}
}

func testFakeAccess(ctx context.Context, t *testing.T, c *bytemark.Client, fake *bytemarktest.Server) {
	t.Helper()
	partner := fake.Servers("partner", "default")
	if len(partner) == 0 {
		t.Fatal("the fake has no partner servers")
	}
	name := partner[0].Name + ".default.partner"
	if _, err := c.GetServer(ctx, name); err != nil {
		t.Errorf("GetServer(%s): %v", name, err)
	}
	if err := c.StopServer(ctx, name); !bytemark.IsForbidden(err) {
		t.Errorf("StopServer(%s) error = %v, want 403", name, err)
	}
	if _, err := c.ListServers(ctx, "default.hidden"); !bytemark.IsNotFound(err) {
		t.Errorf("ListServers(default.hidden) error = %v, want 404", err)
	}
}
