package commands_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/commands"
)

// newClient returns the fake Bytemark API and a real client of it, built
// as main builds it.
func newClient(t *testing.T) (*bytemarktest.Server, *bytemark.Client) {
	t.Helper()
	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	c, err := bytemark.NewClient(&http.Client{Timeout: 30 * time.Second}, bytemark.Options{
		APIURL: fake.URL(), AuthURL: fake.URL(), APIKey: bytemarktest.APIKey, Account: "acme",
		PowerTimeout: 10 * time.Second, PollInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// run parses and runs text against c.
func run(t *testing.T, c commands.Cloud, text string) (commands.Result, error) {
	t.Helper()
	a, err := commands.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q) = %v", text, err)
	}
	return commands.Run(t.Context(), c, a)
}

// writes returns the requests that could change something.
func writes(fake *bytemarktest.Server) []string {
	var w []string
	for _, r := range fake.Requests() {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/session") {
			w = append(w, r.Method+" "+r.Path+" "+r.Body)
		}
	}
	return w
}

func TestServerCommands(t *testing.T) {
	fake, c := newClient(t)
	tests := []struct {
		in   string
		want []string // in the summary
	}{
		{"images", []string{"7 images"}},
		{"resize web2 cores 4 memory 8G", []string{"web2.default.acme resized: 2 cores → 4 cores, memory", "→ 8 GiB", "until it restarts"}},
		{"resize web2 cores 4", []string{"already has 4 cores"}},
		{"rename web2 www2", []string{"www2.default.acme renamed to www2 (was web2)"}},
		{"rescue www2", []string{"www2.default.acme started in the rescue system (shut down cleanly first)"}},
		{"move www2 staging", []string{"www2.staging.acme moved from group default.acme to staging.acme (shut down, moved and started again)"}},
		{"create new1", []string{"new1.default.acme is up with symbiosis (1 core, 1 GiB memory, 1 disc)"}},
		{"create new2.staging cores 2 memory 2G disc 30G:ssd disc 10G:archive image bookworm stopped", []string{"new2.staging.acme created with bookworm", "it is off, as asked"}},
		{"create new3 no-image", []string{"new3.default.acme created with no operating system"}},
	}
	for _, tt := range tests {
		res, err := run(t, c, tt.in)
		if err != nil {
			t.Errorf("Run(%q) = %v (calls %q)", tt.in, err, res.Calls)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(res.Summary, w) {
				t.Errorf("Run(%q) summary = %q; want it to contain %q", tt.in, res.Summary, w)
			}
		}
		imaged := strings.HasPrefix(tt.in, "create") && !strings.Contains(tt.in, "no-image")
		if (res.Private != "") != imaged {
			t.Errorf("Run(%q).Private = %q; want a root password only for an imaged server", tt.in, res.Private)
		}
	}
	s, ok := fake.Server("acme", "default", "web2")
	if ok {
		t.Errorf("web2 still in default after the rename and move: %+v", s)
	}
	if s, ok = fake.Server("acme", "staging", "www2"); !ok || !s.PowerOn || s.Cores != 4 || s.Memory != 8192 {
		t.Errorf("www2.staging = %+v, %v; want it on, with 4 cores and 8 GiB", s, ok)
	}
	if s, ok = fake.Server("acme", "staging", "new2"); !ok || s.Cores != 2 || len(s.Discs) != 2 || s.Discs[0].StorageGrade != "ssd" || s.PowerOn {
		t.Errorf("new2.staging = %+v, %v; want 2 cores, an ssd and an archive disc, off", s, ok)
	}
	if s, ok = fake.Server("acme", "default", "new1"); !ok || s.Cores != 1 || s.Memory != 1024 || len(s.Discs) != 1 || s.Discs[0].Size != 25600 {
		t.Errorf("new1 = %+v, %v; want the official defaults", s, ok)
	}
}

// TestMoveRunning: a running server is shut down, moved and started again,
// in that order, in one run.
func TestMoveRunning(t *testing.T) {
	fake, c := newClient(t)
	res, err := run(t, c, "move web1 staging")
	if err != nil {
		t.Fatalf("move = %v (calls %q)", err, res.Calls)
	}
	var order []string
	for _, w := range writes(fake) {
		switch {
		case strings.Contains(w, `"powerdown"`):
			order = append(order, "shutdown")
		case strings.Contains(w, `"group_id"`):
			order = append(order, "move")
		case strings.Contains(w, `"power_on":true`):
			order = append(order, "start")
		}
	}
	if got, want := strings.Join(order, " → "), "shutdown → move → start"; got != want {
		t.Errorf("move of a running server did %s; want %s (writes %q)", got, want, writes(fake))
	}
	if s, ok := fake.Server("acme", "staging", "web1"); !ok || !s.PowerOn {
		t.Errorf("web1.staging = %+v, %v; want it there and on", s, ok)
	}
}

// TestResizeRefusedWhileRunning: when Bytemark won't change a running
// server, the answer says so and offers `resize … restart`, which works.
func TestResizeRefusedWhileRunning(t *testing.T) {
	fake, c := newClient(t)
	fake.RefuseChangesWhileRunning(true)
	_, err := run(t, c, "resize web1 cores 2")
	var u *commands.UsageError
	if !errors.As(err, &u) || !strings.Contains(u.Msg, "Bytemark refused to resize `web1.default.acme`") ||
		!strings.Contains(u.Msg, "`/bytemark resize web1.default.acme cores 2 restart`") {
		t.Fatalf("resize of a running server = %v; want a refusal offering resize … restart", err)
	}
	res, err := run(t, c, "resize web1 cores 2 restart")
	if err != nil || !strings.Contains(res.Summary, "(shut down, resized and started again)") {
		t.Fatalf("resize … restart = %q, %v (calls %q)", res.Summary, err, res.Calls)
	}
	if s, _ := fake.Server("acme", "default", "web1"); s.Cores != 2 || !s.PowerOn {
		t.Errorf("web1 = %+v; want 2 cores and on", s)
	}
}

// TestServerCommandsBadInput: bad input gets a clear answer, and nothing
// is written.
func TestServerCommandsBadInput(t *testing.T) {
	fake, c := newClient(t)
	fake.ResetRequests()
	for _, tt := range []struct{ in, want string }{
		{"create new1 image nosuchos", "Bytemark has no image `nosuchos`. The images are `bookworm`"},
		{"create new1 image bookwrm", "Did you mean `bookworm`?"},
		{"reimage web1 nosuchos", "Bytemark has no image `nosuchos`."},
		{"rename web1 web2", "There is already a server called `web2` in group `default.acme`"},
		{"rename web1 old1", "There is already a server called `old1`"}, // deleted, not purged
		{"create web2", "There is already a server called `web2`"},
		{"create new1.nosuchgroup", "There is no group `nosuchgroup`"},
		{"move web1 nosuchgroup", "There is no group `nosuchgroup`"},
		{"move web1 staging.nosuchaccount", "There is no group `staging.nosuchaccount`"},
		{"resize old1 cores 2", "`old1.default.acme` is deleted"},
		{"resize nosuch cores 2", "I can't find server `nosuch`"},
	} {
		_, err := run(t, c, tt.in)
		var u *commands.UsageError
		if !errors.As(err, &u) || !strings.Contains(u.Msg, tt.want) {
			t.Errorf("Run(%q) = %v; want a usage error containing %q", tt.in, err, tt.want)
		}
	}
	for _, in := range []string{"resize web1 cores 0", "resize web1 memory 0", "create new1 cores 0", "create new1 memory 0"} {
		if _, err := commands.Parse(in); err == nil {
			t.Errorf("Parse(%q) = nil error; want a refusal", in)
		}
	}
	if w := writes(fake); len(w) > 0 {
		t.Errorf("bad input wrote to the API: %q", w)
	}
}

// TestMoveRefused: a move the API refuses (private VLANs) gets a clear
// answer, and the server is started again where it was.
func TestMoveRefused(t *testing.T) {
	fake, c := newClient(t)
	fake.SetGroupVLAN("acme", "staging", 7)
	_, err := run(t, c, "move web1 staging")
	var u *commands.UsageError
	if !errors.As(err, &u) || !strings.Contains(u.Msg, "Bytemark refused to move `web1.default.acme` to group `staging`") ||
		!strings.Contains(u.Msg, "private VLANs") || !strings.Contains(u.Msg, "was started again where it was") {
		t.Fatalf("move across VLANs = %v; want a clear refusal", err)
	}
	if s, ok := fake.Server("acme", "default", "web1"); !ok || !s.PowerOn {
		t.Errorf("web1 = %+v, %v; want it in default and on", s, ok)
	}
}

// TestPasswordsArePrivate: create and reimage give a fresh random root
// password in Result.Private alone: not in the summary, fields or calls,
// and a different one each time.
func TestPasswordsArePrivate(t *testing.T) {
	fake, c := newClient(t)
	seen := map[string]bool{}
	for _, in := range []string{"create new1 image bookworm", "reimage web1 jammy", "reimage web1 jammy"} {
		res, err := run(t, c, in)
		if err != nil {
			t.Fatalf("Run(%q) = %v", in, err)
		}
		pw := password(t, res.Private)
		if seen[pw] {
			t.Errorf("Run(%q) gave a password seen before", in)
		}
		seen[pw] = true
		all := res.Summary + strings.Join(res.Calls, "\n")
		for _, f := range res.Fields {
			all += f.Label + f.Value
		}
		if strings.Contains(all, pw) {
			t.Errorf("Run(%q): the password is in the public result %q", in, all)
		}
		if !strings.Contains(res.Summary, "reimaged with jammy") && !strings.Contains(res.Summary, "is up with bookworm") {
			t.Errorf("Run(%q) summary = %q", in, res.Summary)
		}
	}
	if s, _ := fake.Server("acme", "default", "web1"); s.LastImagedWith != "jammy" || !s.PowerOn {
		t.Errorf("web1 = %+v; want it reimaged with jammy and on", s)
	}
}

// password returns the root password in a Private note.
func password(t *testing.T, private string) string {
	t.Helper()
	_, rest, ok := strings.Cut(private, "`: `")
	pw, _, ok2 := strings.Cut(rest, "`")
	if !ok || !ok2 || len(pw) < 16 {
		t.Fatalf("Private = %q; want a root password", private)
	}
	return pw
}

// TestReimageHungServer: a server that ignores the ACPI power button is
// powered off at the deadline, then reimaged.
func TestReimageHungServer(t *testing.T) {
	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	c, err := bytemark.NewClient(&http.Client{Timeout: 30 * time.Second}, bytemark.Options{
		APIURL: fake.URL(), AuthURL: fake.URL(), APIKey: bytemarktest.APIKey, Account: "acme",
		PowerTimeout: 50 * time.Millisecond, PollInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	fake.HangOnPowerdown("acme", "default", "web1", true)
	res, err := run(t, c, "reimage web1 noble")
	if err != nil || !strings.Contains(res.Summary, "web1.default.acme reimaged with noble (powered off when it didn't shut down in time)") {
		t.Fatalf("reimage of a hung server = %q, %v (calls %q)", res.Summary, err, res.Calls)
	}
	var order []string
	for _, w := range writes(fake) {
		switch {
		case strings.Contains(w, `"powerdown"`):
			order = append(order, "powerdown")
		case strings.Contains(w, `"power_on":false`):
			order = append(order, "power off")
		case strings.HasSuffix(strings.Fields(w)[1], "/reimage"):
			order = append(order, "reimage")
		}
	}
	if got, want := strings.Join(order, " → "), "powerdown → power off → reimage"; got != want {
		t.Errorf("reimage of a hung server did %s; want %s", got, want)
	}
}

// TestCreateWaitsUntilUp: a server still building is polled, and the
// answer comes when it is up, with its addresses and how to log in.
func TestCreateWaitsUntilUp(t *testing.T) {
	fake, c := newClient(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fake.SetNow(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	})
	// Each request moves the fake's clock on 20 seconds; building takes 60.
	fake.OnRequest(func(string, string) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(20 * time.Second)
	})
	fake.SetBuildDelay(time.Minute)
	res, err := run(t, c, "create new1 image bookworm")
	if err != nil || !strings.Contains(res.Summary, "new1.default.acme is up with bookworm") {
		t.Fatalf("create = %q, %v (calls %q)", res.Summary, err, res.Calls)
	}
	polls := 0
	for _, call := range res.Calls {
		if call == "GET server new1.default.acme" {
			polls++
		}
	}
	if polls < 2 {
		t.Errorf("create read the new server %d times; want it polled until up (calls %q)", polls, res.Calls)
	}
	s, _ := fake.Server("acme", "default", "new1")
	var fields string
	for _, f := range res.Fields {
		fields += f.Label + ": " + f.Value + "\n"
	}
	if len(s.NetworkInterfaces) == 0 || !strings.Contains(fields, s.NetworkInterfaces[0].IPs[0]) || !strings.Contains(fields, "ssh root@") {
		t.Errorf("create fields = %q; want the addresses and how to log in", fields)
	}
}
