package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// notFound returns the API's "no such thing" error.
func notFound(what string) error {
	return &bytemark.Error{Method: "GET", Path: "/" + what, StatusCode: 404, Message: "Not Found"}
}

// fakeCloud is an in-memory Cloud: servers by the name actions use. Fail
// makes the named method fail (once per entry in its list).
type fakeCloud struct {
	servers map[string]*bytemark.Server
	fail    map[string][]error
	// block makes the named method wait for its context to end.
	block string
}

var _ Cloud = (*fakeCloud)(nil)

func newFakeCloud() *fakeCloud {
	return &fakeCloud{
		fail: map[string][]error{},
		servers: map[string]*bytemark.Server{
			"web1": {ID: 1, Name: "web1", Hostname: "web1.default.acme.uk0.bigv.io", Cores: 2, Memory: 4096, PowerOn: true,
				Discs:             []bytemark.Disc{{ID: 11, Label: "root", Size: 25600, StorageGrade: "sata"}, {ID: 12, Label: "data", Size: 51200, StorageGrade: "archive"}},
				NetworkInterfaces: []bytemark.NetworkInterface{{IPs: []string{"192.0.2.10", "2001:db8::10"}}}},
			"db1":  {ID: 2, Name: "db1", Hostname: "db1.default.acme.uk0.bigv.io", Cores: 1, Memory: 1024},
			"old1": {ID: 3, Name: "old1", Hostname: "old1.default.acme.uk0.bigv.io", Deleted: true},
		},
	}
}

func (f *fakeCloud) err(ctx context.Context, method string) error {
	if f.block == method {
		<-ctx.Done()
		return ctx.Err()
	}
	if errs := f.fail[method]; len(errs) > 0 {
		f.fail[method] = errs[1:]
		return errs[0]
	}
	return nil
}

func (f *fakeCloud) server(ctx context.Context, method, name string) (*bytemark.Server, error) {
	if err := f.err(ctx, method); err != nil {
		return nil, err
	}
	s, ok := f.servers[name]
	if !ok {
		return nil, notFound("server/" + name)
	}
	return s, nil
}

func (f *fakeCloud) ListServers(ctx context.Context, group string) ([]bytemark.Server, error) {
	if err := f.err(ctx, "ListServers"); err != nil {
		return nil, err
	}
	if group != "" && group != "default" {
		return nil, notFound("group/" + group)
	}
	var ss []bytemark.Server
	for _, s := range f.servers {
		if !s.Deleted {
			ss = append(ss, *s)
		}
	}
	return ss, nil
}

func (f *fakeCloud) GetServer(ctx context.Context, name string) (*bytemark.Server, error) {
	s, err := f.server(ctx, "GetServer", name)
	if err != nil {
		return nil, err
	}
	c := *s
	c.Discs = slices.Clone(s.Discs)
	return &c, nil
}

func (f *fakeCloud) setPower(ctx context.Context, method, name string, on bool) error {
	s, err := f.server(ctx, method, name)
	if err == nil {
		s.PowerOn = on
	}
	return err
}

func (f *fakeCloud) StartServer(ctx context.Context, name string) error {
	return f.setPower(ctx, "StartServer", name, true)
}
func (f *fakeCloud) StopServer(ctx context.Context, name string) error {
	return f.setPower(ctx, "StopServer", name, false)
}
func (f *fakeCloud) ResetServer(ctx context.Context, name string) error {
	return f.setPower(ctx, "ResetServer", name, true)
}
func (f *fakeCloud) ShutdownServer(ctx context.Context, name string) error {
	return f.setPower(ctx, "ShutdownServer", name, false)
}
func (f *fakeCloud) RestartServer(ctx context.Context, name string) error {
	return f.setPower(ctx, "RestartServer", name, true)
}
func (f *fakeCloud) CycleServer(ctx context.Context, name string) error {
	return f.setPower(ctx, "CycleServer", name, true)
}

func (f *fakeCloud) DeleteServer(ctx context.Context, name string) error {
	s, err := f.server(ctx, "DeleteServer", name)
	if err == nil {
		s.Deleted, s.PowerOn = true, false
	}
	return err
}

func (f *fakeCloud) UndeleteServer(ctx context.Context, name string) error {
	s, err := f.server(ctx, "UndeleteServer", name)
	if err == nil {
		s.Deleted = false
	}
	return err
}

func (f *fakeCloud) PurgeServer(ctx context.Context, name string) error {
	_, err := f.server(ctx, "PurgeServer", name)
	if err == nil {
		delete(f.servers, name)
	}
	return err
}

func (f *fakeCloud) Discs(ctx context.Context, server string) ([]bytemark.Disc, error) {
	s, err := f.server(ctx, "Discs", server)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.Discs), nil
}

func (f *fakeCloud) AddDisc(ctx context.Context, server string, d bytemark.DiscSpec) (*bytemark.Disc, error) {
	s, err := f.server(ctx, "AddDisc", server)
	if err != nil {
		return nil, err
	}
	nd := bytemark.Disc{ID: 100 + len(s.Discs), Label: d.Label, Size: d.SizeMiB, StorageGrade: d.StorageGrade, VirtualMachineID: s.ID}
	s.Discs = append(s.Discs, nd)
	return &nd, nil
}

func (f *fakeCloud) ResizeDisc(ctx context.Context, server, label string, sizeMiB int) (*bytemark.Disc, error) {
	s, err := f.server(ctx, "ResizeDisc", server)
	if err != nil {
		return nil, err
	}
	for i := range s.Discs {
		if s.Discs[i].Label == label {
			s.Discs[i].Size = sizeMiB
			d := s.Discs[i]
			return &d, nil
		}
	}
	return nil, notFound("disc/" + label)
}

func (f *fakeCloud) PurgeDisc(ctx context.Context, server, label string) error {
	s, err := f.server(ctx, "PurgeDisc", server)
	if err != nil {
		return err
	}
	s.Discs = slices.DeleteFunc(s.Discs, func(d bytemark.Disc) bool { return d.Label == label })
	return nil
}

func TestRun(t *testing.T) {
	errBoom := errors.New("fake: boom")
	tests := []struct {
		in          string
		setup       func(f *fakeCloud)
		wantSummary string
		wantCalls   []string
		wantErr     string // substring of the error; a *UsageError's Msg if it starts with "="
		check       func(t *testing.T, f *fakeCloud, res Result)
	}{
		{in: "list", wantSummary: "2 servers in the default group, and 1 deleted (until it is purged, `undelete` brings it back)", wantCalls: []string{"GET account acme"},
			check: func(t *testing.T, f *fakeCloud, res Result) {
				if len(res.Servers) != 3 || res.Servers[0].Name != "db1" || res.Servers[1].Name != "web1" || !res.Servers[2].Deleted {
					t.Errorf("Servers = %v; want db1, web1, then the deleted old1", res.Servers)
				}
			}},
		{in: "list staging", wantCalls: []string{"GET account acme"},
			wantErr: "=There's no group `staging` in account `acme`; its groups are `default`."},
		{in: "show web1", wantSummary: "web1.default.acme is on: 2 cores, 4 GiB memory, 2 discs (75 GiB)", wantCalls: []string{"GET server web1"},
			check: func(t *testing.T, f *fakeCloud, res Result) {
				if res.Server == nil || res.Server.ID != 1 {
					t.Errorf("Server = %v; want web1", res.Server)
				}
			}},
		{in: "show old1", wantSummary: "old1.default.acme is deleted: 0 cores, 0 MiB memory, 0 discs", wantCalls: []string{"GET server old1"}},
		{in: "show nope", wantCalls: []string{"GET server nope (failed)"},
			wantErr: "=I can't find server `nope` in group `default` of account `acme` (or this bot's Bytemark account can't see it). `/bytemark list default` shows its servers."},
		{in: "start db1", wantSummary: "db1.default.acme started (was off, now on)", wantCalls: []string{"GET server db1", "PUT start db1", "GET server db1"}},
		{in: "stop web1", wantSummary: "web1.default.acme stopped (was on, now off)", wantCalls: []string{"GET server web1", "PUT stop web1", "GET server web1"}},
		{in: "restart web1", wantSummary: "web1.default.acme restarted (was on, now on)",
			wantCalls: []string{"GET server web1", "POST restart web1 (shutdown, wait, start)", "GET server web1"}},
		{in: "reset web1", wantSummary: "web1.default.acme reset (was on, now on)", wantCalls: []string{"GET server web1", "POST reset web1", "GET server web1"}},
		{in: "shutdown web1", wantSummary: "web1.default.acme shut down (was on, now off)",
			wantCalls: []string{"GET server web1", "POST shutdown web1 (and wait for power off)", "GET server web1"}},
		{in: "start old1", wantCalls: []string{"GET server old1"}, wantErr: "=`old1` is deleted; `/bytemark undelete old1` first."},
		{in: "stop web1", setup: func(f *fakeCloud) { f.fail["StopServer"] = []error{errBoom} },
			wantCalls: []string{"GET server web1", "PUT stop web1 (failed)"}, wantErr: "commands: stop web1: fake: boom"},
		{in: "start db1", setup: func(f *fakeCloud) { f.fail["GetServer"] = []error{nil, errBoom} },
			wantSummary: "db1.default.acme started (was off)", wantCalls: []string{"GET server db1", "PUT start db1", "GET server db1 (failed)"}},
		{in: "reboot web1 reset", wantSummary: "web1.default.acme rebooted by reset (was on, now on)",
			wantCalls: []string{"GET server web1", "POST reset web1", "GET server web1"}},
		{in: "reboot db1 cycle", wantSummary: "db1.default.acme rebooted by power cycle (was off, now on)",
			wantCalls: []string{"GET server db1", "PUT power cycle db1 (stop, start)", "GET server db1"}},
		{in: "reboot web1", wantSummary: "web1.default.acme rebooted cleanly (was on, now on)",
			wantCalls: []string{"GET server web1", "POST restart web1 (shutdown, wait, start)", "GET server web1"}},
		{in: "reboot web1 graceful", setup: func(f *fakeCloud) { f.fail["RestartServer"] = []error{errors.New("fake: still on after 2m")} },
			wantSummary: "web1.default.acme rebooted by power cycle (a clean restart didn't finish) (was on, now on)",
			wantCalls:   []string{"GET server web1", "POST restart web1 (shutdown, wait, start) (failed)", "PUT power cycle web1 (stop, start)", "GET server web1"}},
		{in: "reboot web1", setup: func(f *fakeCloud) {
			f.fail["RestartServer"] = []error{errBoom}
			f.fail["CycleServer"] = []error{errBoom}
		}, wantCalls: []string{"GET server web1", "POST restart web1 (shutdown, wait, start) (failed)", "PUT power cycle web1 (stop, start) (failed)"},
			wantErr: "commands: reboot web1 graceful: fake: boom"},
		{in: "reboot web1", setup: func(f *fakeCloud) {
			f.fail["RestartServer"] = []error{&bytemark.Error{Method: "POST", Path: "/x", StatusCode: 403, Message: "Forbidden"}}
		}, wantCalls: []string{"GET server web1", "POST restart web1 (shutdown, wait, start) (failed)"}, wantErr: "403 Forbidden"},
		{in: "reboot web1", setup: func(f *fakeCloud) {
			f.fail["RestartServer"] = []error{&bytemark.PowerTimeoutError{Server: "web1", Action: "restart", Waited: 2 * time.Minute, PowerOn: true}}
		}, wantSummary: "web1.default.acme rebooted by power cycle (a clean restart didn't finish) (was on, now on)",
			wantCalls: []string{"GET server web1", "POST restart web1 (shutdown, wait, start) (failed)", "PUT power cycle web1 (stop, start)", "GET server web1"}},
		{in: "reboot nope", wantCalls: []string{"GET server nope (failed)"}, wantErr: "=I can't find server `nope`"},
		{in: "delete web1", wantSummary: "web1 deleted; `/bytemark undelete web1` brings it back for a while", wantCalls: []string{"DELETE server web1"},
			check: func(t *testing.T, f *fakeCloud, res Result) {
				if !f.servers["web1"].Deleted {
					t.Errorf("web1 not deleted")
				}
			}},
		{in: "undelete old1", wantSummary: "old1 undeleted; `/bytemark start old1` powers it on", wantCalls: []string{"GET server old1", "PUT undelete old1"}},
		{in: "purge web1", wantSummary: "web1 purged: the server and its discs are gone for good", wantCalls: []string{"DELETE purge server web1"},
			check: func(t *testing.T, f *fakeCloud, res Result) {
				if _, ok := f.servers["web1"]; ok {
					t.Errorf("web1 not purged")
				}
			}},
		{in: "purge nope", wantCalls: []string{"DELETE purge server nope (failed)"}, wantErr: "I can't find server `nope`"},
		{in: "discs web1", wantSummary: "web1 has 2 discs (75 GiB in all)", wantCalls: []string{"GET discs web1"},
			check: func(t *testing.T, f *fakeCloud, res Result) {
				if len(res.Discs) != 2 {
					t.Errorf("Discs = %v; want 2", res.Discs)
				}
			}},
		{in: "discs db1", wantSummary: "db1 has 0 discs", wantCalls: []string{"GET discs db1"}},
		{in: "disc add web1 logs 1.5G ssd", wantSummary: "Added disc logs (1.5 GiB, ssd) to web1",
			wantCalls: []string{"GET discs web1", "POST disc web1 logs 1536M ssd"},
			check: func(t *testing.T, f *fakeCloud, res Result) {
				if len(res.Discs) != 1 || res.Discs[0].Label != "logs" || res.Discs[0].Size != 1536 || len(f.servers["web1"].Discs) != 3 {
					t.Errorf("Discs = %v; web1 has %v", res.Discs, f.servers["web1"].Discs)
				}
			}},
		{in: "disc add web1 DATA 10G", wantCalls: []string{"GET discs web1"}, wantErr: "=`web1` already has a disc labelled `data`; choose another label."},
		{in: "disc add web1 more 10G", setup: func(f *fakeCloud) {
			for i := range 6 {
				f.servers["web1"].Discs = append(f.servers["web1"].Discs, bytemark.Disc{Label: fmt.Sprint("d", i)})
			}
		}, wantCalls: []string{"GET discs web1"}, wantErr: "=`web1` already has 8 discs, the most a server can have."},
		{in: "disc add web1 data2 10G", setup: func(f *fakeCloud) { f.fail["AddDisc"] = []error{errBoom} },
			wantCalls: []string{"GET discs web1", "POST disc web1 data2 10G sata (failed)"}, wantErr: "fake: boom"},
		{in: "disc resize web1 data 100G", wantSummary: "Disc data on web1 resized from 50 GiB to 100 GiB",
			wantCalls: []string{"GET discs web1", "PUT disc web1 data 100G"}},
		{in: "disc resize web1 data 50G", wantSummary: "Disc data on web1 is already 50 GiB; nothing to do", wantCalls: []string{"GET discs web1"}},
		{in: "disc resize web1 data 20G", wantCalls: []string{"GET discs web1"},
			wantErr: "=Disc `data` on `web1` is 50 GiB, and discs can only grow. Give a size bigger than 50G."},
		{in: "disc resize web1 logs 20G", wantCalls: []string{"GET discs web1"},
			wantErr: "=`web1` has no disc labelled `logs`; its discs are `root` and `data`."},
		{in: "disc purge web1 data", wantSummary: "Disc data (50 GiB, archive) on web1 purged: its data is gone for good",
			wantCalls: []string{"GET discs web1", "DELETE purge disc web1 data"},
			check: func(t *testing.T, f *fakeCloud, res Result) {
				if len(f.servers["web1"].Discs) != 1 {
					t.Errorf("web1 discs = %v; want only root", f.servers["web1"].Discs)
				}
			}},
		{in: "disc purge db1 data", wantCalls: []string{"GET discs db1"}, wantErr: "=`db1` has no disc labelled `data`."},
		{in: "disc purge nope data", wantCalls: []string{"GET discs nope (failed)"}, wantErr: "I can't find server `nope`"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f := newFakeCloud()
			if tt.setup != nil {
				tt.setup(f)
			}
			a, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.in, err)
			}
			res, err := Run(t.Context(), f, a)
			if !slices.Equal(res.Calls, tt.wantCalls) {
				t.Errorf("Run(%q) calls = %q; want %q", tt.in, res.Calls, tt.wantCalls)
			}
			if tt.wantErr != "" {
				var u *UsageError
				if exact, ok := strings.CutPrefix(tt.wantErr, "="); ok {
					if !errors.As(err, &u) || !strings.HasPrefix(u.Msg, exact) {
						t.Errorf("Run(%q) error = %v; want a *UsageError %q", tt.in, err, exact)
					}
				} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Run(%q) error = %v; want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run(%q) = %v", tt.in, err)
			}
			if res.Summary != tt.wantSummary {
				t.Errorf("Run(%q) summary = %q; want %q", tt.in, res.Summary, tt.wantSummary)
			}
			if strings.ContainsAny(res.Summary, "\n<>&") {
				t.Errorf("Run(%q) summary = %q; want one line of safe text", tt.in, res.Summary)
			}
			if tt.check != nil {
				tt.check(t, f, res)
			}
		})
	}
}

// TestRunErrors covers what Run refuses or explains without a Bytemark call.
func TestRunErrors(t *testing.T) {
	f := newFakeCloud()
	for _, a := range []Action{Help{}, Approvals{}, Cancel{Ticket: "T1"}, Audit{}} {
		if _, err := Run(t.Context(), f, a); err == nil || !strings.Contains(err.Error(), "doesn't run against Bytemark") {
			t.Errorf("Run(%q) = %v; want an error", a, err)
		}
	}
	if _, err := Run(t.Context(), f, nil); err == nil {
		t.Errorf("Run(nil) = nil error")
	}
	var u *UsageError
	if res, err := Run(t.Context(), f, Show{Target: "../x"}); !errors.As(err, &u) || len(res.Calls) != 0 {
		t.Errorf("Run(show ../x) = %v, %v; want a *UsageError and no calls", res, err)
	}
	// Not found stays detectable under the message.
	_, err := Run(t.Context(), f, Show{Target: "nope"})
	if !bytemark.IsNotFound(err) {
		t.Errorf("Run(show nope) = %v; want it to wrap the not-found error", err)
	}
}

func TestRunTimeout(t *testing.T) {
	f := newFakeCloud()
	f.block = "GetServer"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, f, Show{Target: "web1"})
	var u *UsageError
	if !errors.As(err, &u) || !strings.Contains(u.Msg, "took too long") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run(show web1) with a stuck API = %v; want a timeout message wrapping DeadlineExceeded", err)
	}
	if want := []string{"GET server web1 (failed)"}; !slices.Equal(res.Calls, want) {
		t.Errorf("calls = %q; want %q", res.Calls, want)
	}
}

func TestTimeout(t *testing.T) {
	for a, want := range map[Action]time.Duration{
		Show{Target: "w"}: 30 * time.Second, List{}: 30 * time.Second, Discs{Target: "w"}: 30 * time.Second,
		Restart{Target: "w"}: 5 * time.Minute, Shutdown{Target: "w"}: 5 * time.Minute, Reboot{Target: "w", Method: "reset"}: 5 * time.Minute,
		Start{Target: "w"}: 2 * time.Minute, Purge{Target: "w"}: 2 * time.Minute, DiscAdd{}: 2 * time.Minute,
	} {
		if got := Timeout(a); got != want {
			t.Errorf("Timeout(%q) = %v; want %v", a, got, want)
		}
	}
}

func TestSnapshot(t *testing.T) {
	f := newFakeCloud()
	s := *f.servers["web1"]
	base := Snapshot(&s)
	if len(base) != 64 {
		t.Errorf("Snapshot = %q; want 64 hex digits", base)
	}
	// Order doesn't matter.
	r := s
	r.Discs = []bytemark.Disc{s.Discs[1], s.Discs[0]}
	r.NetworkInterfaces = []bytemark.NetworkInterface{{IPs: []string{"2001:db8::10", "192.0.2.10"}}}
	r.Cores = 8 // not shown to approvers
	if got := Snapshot(&r); got != base {
		t.Errorf("Snapshot of reordered server = %s; want %s", got, base)
	}
	for name, change := range map[string]func(s *bytemark.Server){
		"power":   func(s *bytemark.Server) { s.PowerOn = false },
		"deleted": func(s *bytemark.Server) { s.Deleted = true },
		"disc": func(s *bytemark.Server) {
			s.Discs = []bytemark.Disc{s.Discs[0], {ID: 12, Label: "data", Size: 102400, StorageGrade: "archive"}}
		},
		"no disc": func(s *bytemark.Server) { s.Discs = s.Discs[:1] },
		"ip":      func(s *bytemark.Server) { s.NetworkInterfaces = nil },
		"name":    func(s *bytemark.Server) { s.Hostname = "web9.default.acme.uk0.bigv.io" },
	} {
		c := s
		change(&c)
		if Snapshot(&c) == base {
			t.Errorf("Snapshot unchanged after a change of %s", name)
		}
	}
}

func TestDescribe(t *testing.T) {
	f := newFakeCloud()
	got := Describe(f.servers["web1"])
	want := []Field{
		{"Server", "web1.default.acme"}, {"Power", "on"}, {"Size", "2 cores, 4 GiB memory"},
		{"IP addresses", "192.0.2.10, 2001:db8::10"}, {"Discs", "root: 25 GiB sata\ndata: 50 GiB archive"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Describe(web1) = %q; want %q", got, want)
	}
}
