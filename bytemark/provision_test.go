package bytemark_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/internal/logtest"
)

// newFakeClient returns a client of the fake, built as main builds it
// (its own http.Client, a user agent, a logger; no default account, so
// the first account, acme, is looked up), with short power waits.
func newProvisionFake(t *testing.T, logger *slog.Logger) (*bytemark.Client, *bytemarktest.Server) {
	t.Helper()
	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	c := provisionClient(t, fake.URL(), logger)
	return c, fake
}

func provisionClient(t *testing.T, url string, logger *slog.Logger) *bytemark.Client {
	t.Helper()
	c, err := bytemark.NewClient(&http.Client{Timeout: 60 * time.Second}, bytemark.Options{
		APIURL: url, AuthURL: url, Username: bytemarktest.Username, Password: bytemarktest.Password,
		UserAgent: "bytebot/test", Logger: logger,
		PollInterval: time.Millisecond, PowerTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writes returns the fake's logged writes as "METHOD /path body", bodies
// as JSON with sorted keys.
func loggedWrites(fake *bytemarktest.Server) []string {
	var out []string
	for _, r := range fake.Requests() {
		if r.Method == http.MethodGet || r.Path == "/session" {
			continue
		}
		line := r.Method + " " + r.Path
		if r.Body != "" {
			var v any
			if json.Unmarshal([]byte(r.Body), &v) == nil {
				b, _ := json.Marshal(v)
				line += " " + string(b)
			} else {
				line += " " + r.Body
			}
		}
		out = append(out, line)
	}
	return out
}

// state is everything the fake holds, for checking that a refusal changed
// nothing.
func fakeState(fake *bytemarktest.Server) string { return fmt.Sprintf("%+v", fake.Accounts()) }

// problems returns the 400 problems of err, or fails.
func problemsOf(t *testing.T, err error) map[string][]string {
	t.Helper()
	var e *bytemark.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusBadRequest {
		t.Fatalf("error %v (%T); want a 400 *bytemark.Error", err, err)
	}
	return e.Problems
}

func ptrTo[T any](v T) *T { return &v }

const (
	acmeDefault = "/accounts/acme/groups/default"
	acmeStaging = "/accounts/acme/groups/staging"
)

func TestUpdateServer(t *testing.T) {
	t.Parallel()
	c, fake := newProvisionFake(t, nil)
	ctx := t.Context()

	s, err := c.UpdateServer(ctx, "web1", bytemark.ServerUpdate{Cores: ptrTo(4), MemoryMiB: ptrTo(8192)})
	if err != nil {
		t.Fatalf("UpdateServer: %v", err)
	}
	if s.Cores != 4 || s.Memory != 8192 || s.Name != "web1" || !s.PowerOn {
		t.Errorf("UpdateServer returned %+v", s)
	}
	if got, _ := fake.Server("acme", "default", "web1"); got.Cores != 4 || got.Memory != 8192 {
		t.Errorf("the fake has %+v", got)
	}
	s, err = c.UpdateServer(ctx, "web1.default", bytemark.ServerUpdate{Name: ptrTo("web9")})
	if err != nil || s.Name != "web9" || s.Hostname != "web9.default.acme.uk0.bigv.io" {
		t.Fatalf("rename = %+v, %v", s, err)
	}
	if _, ok := fake.Server("acme", "default", "web9"); !ok {
		t.Error("web9 is not in the fake")
	}
	want := []string{
		"PUT " + acmeDefault + `/virtual_machines/web1 {"cores":4,"memory":8192}`,
		"PUT " + acmeDefault + `/virtual_machines/web1 {"name":"web9"}`,
	}
	if got := loggedWrites(fake); !slices.Equal(got, want) {
		t.Errorf("writes: %s", cmp.Diff(want, got))
	}

	if _, err := c.UpdateServer(ctx, "web9", bytemark.ServerUpdate{}); err == nil || !strings.Contains(err.Error(), "nothing to change") {
		t.Errorf("empty update = %v; want nothing to change", err)
	}
	if n := len(loggedWrites(fake)); n != 2 {
		t.Errorf("an empty update was sent (%d writes)", n)
	}
}

func TestUpdateServerRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		server string
		u      bytemark.ServerUpdate
		attr   string
		taken  bool
	}{
		{"a taken name", "web1", bytemark.ServerUpdate{Name: ptrTo("web2")}, "name", true},
		{"a deleted server's name", "web1", bytemark.ServerUpdate{Name: ptrTo("old1")}, "name", true},
		{"a bad name", "web1", bytemark.ServerUpdate{Name: ptrTo("Web 1")}, "name", false},
		{"0 cores", "web1", bytemark.ServerUpdate{Cores: ptrTo(0)}, "cores", false},
		{"memory 0", "web1", bytemark.ServerUpdate{MemoryMiB: ptrTo(0)}, "memory", false},
		{"memory not a whole GiB", "web1", bytemark.ServerUpdate{MemoryMiB: ptrTo(1000), Cores: ptrTo(2)}, "memory", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, fake := newProvisionFake(t, nil)
			before := fakeState(fake)
			s, err := c.UpdateServer(t.Context(), tt.server, tt.u)
			if s != nil {
				t.Errorf("a refused update returned a server: %+v", s)
			}
			if p := problemsOf(t, err); len(p[tt.attr]) == 0 {
				t.Errorf("problems %v; want some for %s", p, tt.attr)
			}
			if bytemark.IsNameTaken(err) != tt.taken {
				t.Errorf("IsNameTaken(%v) = %v; want %v", err, !tt.taken, tt.taken)
			}
			if after := fakeState(fake); after != before {
				t.Errorf("the refusal changed the fake:\n%s\n%s", before, after)
			}
		})
	}
}

func TestMoveServer(t *testing.T) {
	t.Parallel()
	c, fake := newProvisionFake(t, nil)
	ctx := t.Context()
	staging, _ := fake.Server("acme", "staging", "stage1")
	before := fakeState(fake)

	// Running: refused by the API on group_id; nothing moves.
	_, err := c.MoveServer(ctx, "web1", "staging")
	if p := problemsOf(t, err); len(p["group_id"]) == 0 {
		t.Errorf("moving a running server: problems %v; want group_id", p)
	}
	// An unknown group: no PUT at all.
	_, err = c.MoveServer(ctx, "stage1.staging", "nosuch")
	var ug *bytemark.UnknownGroupError
	if !errors.As(err, &ug) || ug.Group != "nosuch.acme" || !bytemark.IsNotFound(err) {
		t.Errorf("move to nosuch = %v (%T); want an *UnknownGroupError for nosuch.acme", err, err)
	}
	if err != nil && !strings.Contains(err.Error(), "no group nosuch.acme") {
		t.Errorf("error %q does not name the group", err)
	}
	// A group of another, read-only account.
	if _, err = c.MoveServer(ctx, "stage1.staging", "default.partner"); !bytemark.IsForbidden(err) {
		t.Errorf("move into partner = %v; want 403", err)
	}
	if _, err = c.MoveServer(ctx, "stage1.staging", "Bad Group"); err == nil {
		t.Error("move to a malformed group name was accepted")
	}
	if after := fakeState(fake); after != before {
		t.Errorf("refused moves changed the fake:\n%s\n%s", before, after)
	}
	partner, _ := fake.Server("partner", "default", "app1")
	want := []string{
		"PUT " + acmeDefault + fmt.Sprintf(`/virtual_machines/web1 {"group_id":%d}`, staging.GroupID),
		"PUT " + acmeStaging + fmt.Sprintf(`/virtual_machines/stage1 {"group_id":%d}`, partner.GroupID),
	}
	if got := loggedWrites(fake); !slices.Equal(got, want) {
		t.Errorf("writes (no PUT for an unknown group): %s", cmp.Diff(want, got))
	}

	// Off: the move goes through, and the server answers at its new place.
	if err := c.StopServer(ctx, "web1"); err != nil {
		t.Fatal(err)
	}
	s, err := c.MoveServer(ctx, "web1", "staging.acme")
	if err != nil {
		t.Fatalf("MoveServer: %v", err)
	}
	if s.GroupID != staging.GroupID || s.Hostname != "web1.staging.acme.uk0.bigv.io" {
		t.Errorf("moved = %+v", s)
	}
	if _, err := c.GetServer(ctx, "web1.staging"); err != nil {
		t.Errorf("GetServer at the new place: %v", err)
	}
	if _, err := c.GetServer(ctx, "web1"); !bytemark.IsNotFound(err) {
		t.Errorf("GetServer at the old place = %v; want 404", err)
	}
	if g, err := c.GetGroup(ctx, "staging"); err != nil || g.ID != staging.GroupID || g.Name != "staging" {
		t.Errorf("GetGroup(staging) = %+v, %v", g, err)
	}

	// Groups on different private VLANs: refused on group_id.
	fake.SetGroupVLAN("acme", "default", 3)
	before = fakeState(fake)
	if _, err := c.MoveServer(ctx, "web1.staging", "default"); err == nil || len(problemsOf(t, err)["group_id"]) == 0 {
		t.Errorf("move across VLANs = %v; want a 400 on group_id", err)
	}
	if after := fakeState(fake); after != before {
		t.Errorf("a refused move changed the fake:\n%s\n%s", before, after)
	}
}

func TestCreateServer(t *testing.T) {
	t.Parallel()
	const pw = "Root-Pw-1f8e3a"
	c, fake := newProvisionFake(t, nil)
	ctx := t.Context()

	// The official client's defaults.
	s, err := c.CreateServer(ctx, "new1", bytemark.ServerSpec{Image: &bytemark.ImageInstall{Distribution: "bookworm", RootPassword: pw}})
	if err != nil {
		t.Fatalf("CreateServer: %v", err)
	}
	if s.ID == 0 || s.Name != "new1" || s.Cores != 1 || s.Memory != 1024 || s.Hostname != "new1.default.acme.uk0.bigv.io" {
		t.Errorf("created = %+v", s)
	}
	// Readable at once.
	got, err := c.GetServer(ctx, "new1")
	if err != nil || got.ID != s.ID || len(got.Discs) != 1 || got.Discs[0].Size != 25600 || got.Discs[0].StorageGrade != "sata" ||
		got.Discs[0].Label != "disc-1" || got.LastImagedWith != "bookworm" || !got.PowerOn || !got.AutorebootOn {
		t.Errorf("GetServer(new1) = %+v, %v", got, err)
	}

	// A group, sizes, two discs, stopped.
	s, err = c.CreateServer(ctx, "new2.staging", bytemark.ServerSpec{
		Cores: 2, MemoryMiB: 4096,
		Discs:   []bytemark.DiscSpec{{SizeMiB: 51200, StorageGrade: "ssd"}, {Label: "data", SizeMiB: 102400, StorageGrade: "archive"}},
		Image:   &bytemark.ImageInstall{Distribution: "noble", RootPassword: pw, SSHPublicKeys: []string{"ssh-ed25519 AAAA a@b", "ssh-rsa BBBB c@d"}},
		Stopped: true,
	})
	if err != nil {
		t.Fatalf("CreateServer(new2.staging): %v", err)
	}
	if srv, _ := fake.Server("acme", "staging", "new2"); srv.ID != s.ID || srv.PowerOn || srv.Cores != 2 || srv.Memory != 4096 || len(srv.Discs) != 2 {
		t.Errorf("new2 = %+v", srv)
	}
	// No image: a bare server, off.
	if _, err := c.CreateServer(ctx, "new3", bytemark.ServerSpec{}); err != nil {
		t.Fatalf("CreateServer(new3): %v", err)
	}
	if srv, _ := fake.Server("acme", "default", "new3"); srv.PowerOn || srv.LastImagedWith != "" || len(srv.Discs) != 1 {
		t.Errorf("new3 = %+v", srv)
	}

	img := func(dist string) string {
		return fmt.Sprintf(`{"distribution":%q,"firstboot_script":"","root_password":%q,"ssh_public_key":""}`, dist, pw)
	}
	want := []string{
		`POST ` + acmeDefault + `/vm_create {"discs":[{"label":"disc-1","size":25600,"storage_grade":"sata"}],"reimage":` + img("bookworm") +
			`,"virtual_machine":{"autoreboot_on":true,"cores":1,"memory":1024,"name":"new1"}}`,
		`POST ` + acmeStaging + `/vm_create {"discs":[{"label":"disc-1","size":51200,"storage_grade":"ssd"},{"label":"data","size":102400,"storage_grade":"archive"}],` +
			`"reimage":{"distribution":"noble","firstboot_script":"","root_password":"` + pw + `","ssh_public_key":"ssh-ed25519 AAAA a@b\nssh-rsa BBBB c@d"},` +
			`"virtual_machine":{"cores":2,"memory":4096,"name":"new2"}}`,
		`POST ` + acmeDefault + `/vm_create {"discs":[{"label":"disc-1","size":25600,"storage_grade":"sata"}],"virtual_machine":{"cores":1,"memory":1024,"name":"new3"}}`,
	}
	if got := loggedWrites(fake); !slices.Equal(got, want) {
		t.Errorf("writes: %s", cmp.Diff(want, got))
	}
}

func TestCreateServerRefused(t *testing.T) {
	t.Parallel()
	const pw = "Root-Pw-9a2b7c"
	image := func(dist string) *bytemark.ImageInstall {
		return &bytemark.ImageInstall{Distribution: dist, RootPassword: pw}
	}
	tests := []struct {
		name   string
		server string
		spec   bytemark.ServerSpec
		check  func(t *testing.T, err error)
		sent   bool // the request reached the API
	}{
		{"a taken name", "web1", bytemark.ServerSpec{Image: image("bookworm")}, func(t *testing.T, err error) {
			if !bytemark.IsNameTaken(err) {
				t.Errorf("err = %v; want IsNameTaken", err)
			}
		}, true},
		{"an unknown group", "new1.nosuch", bytemark.ServerSpec{Image: image("bookworm")}, func(t *testing.T, err error) {
			var ug *bytemark.UnknownGroupError
			if !errors.As(err, &ug) || ug.Group != "nosuch.acme" || !bytemark.IsNotFound(err) {
				t.Errorf("err = %v (%T); want *UnknownGroupError", err, err)
			}
		}, true},
		{"an unknown distribution", "new1", bytemark.ServerSpec{Image: image("windows95")}, func(t *testing.T, err error) {
			if p := problemsOf(t, err); len(p["distribution"]) == 0 {
				t.Errorf("problems %v; want distribution", p)
			}
		}, true},
		{"negative cores", "new1", bytemark.ServerSpec{Cores: -1}, func(t *testing.T, err error) {
			if p := problemsOf(t, err); len(p["cores"]) == 0 {
				t.Errorf("problems %v; want cores", p)
			}
		}, true},
		{"memory not in the list", "new1", bytemark.ServerSpec{MemoryMiB: 1000}, func(t *testing.T, err error) {
			if p := problemsOf(t, err); len(p["memory"]) == 0 {
				t.Errorf("problems %v; want memory", p)
			}
		}, true},
		{"a disc too small for the API", "new1", bytemark.ServerSpec{Discs: []bytemark.DiscSpec{{SizeMiB: 10}}}, func(t *testing.T, err error) {
			if p := problemsOf(t, err); len(p["discs[1].size"]) == 0 {
				t.Errorf("problems %v; want discs[1].size", p)
			}
		}, true},
		{"a read-only account", "new1.default.partner", bytemark.ServerSpec{}, func(t *testing.T, err error) {
			if !bytemark.IsForbidden(err) {
				t.Errorf("err = %v; want 403", err)
			}
		}, true},
		{"no root password", "new1", bytemark.ServerSpec{Image: &bytemark.ImageInstall{Distribution: "bookworm"}}, nil, false},
		{"no distribution", "new1", bytemark.ServerSpec{Image: &bytemark.ImageInstall{RootPassword: pw}}, nil, false},
		{"nine discs", "new1", bytemark.ServerSpec{Discs: make([]bytemark.DiscSpec, 9)}, nil, false},
		{"a device name as label", "new1", bytemark.ServerSpec{Discs: []bytemark.DiscSpec{{Label: "vda", SizeMiB: 25600}}}, nil, false},
		{"two discs with one label", "new1", bytemark.ServerSpec{Discs: []bytemark.DiscSpec{{Label: "disc-2", SizeMiB: 25600}, {SizeMiB: 25600}}}, nil, false},
		{"an unknown grade", "new1", bytemark.ServerSpec{Discs: []bytemark.DiscSpec{{SizeMiB: 25600, StorageGrade: "gold"}}}, nil, false},
		{"a bad name", "New 1", bytemark.ServerSpec{}, nil, false},
		{"a hostname", "new1.default.acme.uk0.bigv.io", bytemark.ServerSpec{}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, fake := newProvisionFake(t, nil)
			before := fakeState(fake)
			s, err := c.CreateServer(t.Context(), tt.server, tt.spec)
			if err == nil || s != nil {
				t.Fatalf("CreateServer = %+v, %v; want an error", s, err)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error %q holds the root password", err)
			}
			if sent := fake.Calls("POST", "/vm_create") > 0; sent != tt.sent {
				t.Errorf("request sent = %v; want %v (err %v)", sent, tt.sent, err)
			}
			if after := fakeState(fake); after != before {
				t.Errorf("the refusal changed the fake:\n%s\n%s", before, after)
			}
		})
	}
}

func TestReimageServer(t *testing.T) {
	t.Parallel()
	const pw = "Root-Pw-4c5d6e"
	c, fake := newProvisionFake(t, nil)
	ctx := t.Context()
	img := bytemark.ImageInstall{Distribution: "noble", RootPassword: pw, SSHPublicKeys: []string{"ssh-ed25519 AAAA a@b"}, FirstbootScript: "#!/bin/sh\ntrue\n"}
	before := fakeState(fake)

	// Running: refused on power_on, nothing changes.
	err := c.ReimageServer(ctx, "web1", img)
	if p := problemsOf(t, err); len(p["power_on"]) == 0 {
		t.Errorf("reimage running web1: problems %v; want power_on", p)
	}
	// An unknown distribution, on a server that is off.
	bad := img
	bad.Distribution = "windows95"
	if p := problemsOf(t, c.ReimageServer(ctx, "stage1.staging", bad)); len(p["distribution"]) == 0 {
		t.Errorf("unknown distribution: problems %v", p)
	}
	if err := c.ReimageServer(ctx, "nosuch", img); !bytemark.IsNotFound(err) {
		t.Errorf("reimage nosuch = %v; want 404", err)
	}
	for _, missing := range []bytemark.ImageInstall{{Distribution: "noble"}, {RootPassword: pw}} {
		if err := c.ReimageServer(ctx, "stage1.staging", missing); err == nil {
			t.Errorf("ReimageServer(%+v) was accepted", missing)
		}
	}
	if after := fakeState(fake); after != before {
		t.Errorf("refused reimages changed the fake:\n%s\n%s", before, after)
	}

	if err := c.ReimageServer(ctx, "stage1.staging", img); err != nil {
		t.Fatalf("ReimageServer: %v", err)
	}
	if s, _ := fake.Server("acme", "staging", "stage1"); !s.PowerOn || s.AutorebootOn || s.LastImagedWith != "noble" {
		t.Errorf("after reimage = %+v; want on, autoreboot off, noble", s)
	}
	want := []string{
		`POST ` + acmeDefault + `/virtual_machines/web1/reimage {"distribution":"noble","firstboot_script":"#!/bin/sh\ntrue\n","root_password":"` + pw + `","ssh_public_key":"ssh-ed25519 AAAA a@b"}`,
		`POST ` + acmeStaging + `/virtual_machines/stage1/reimage {"distribution":"windows95","firstboot_script":"#!/bin/sh\ntrue\n","root_password":"` + pw + `","ssh_public_key":"ssh-ed25519 AAAA a@b"}`,
		`POST ` + acmeDefault + `/virtual_machines/nosuch/reimage {"distribution":"noble","firstboot_script":"#!/bin/sh\ntrue\n","root_password":"` + pw + `","ssh_public_key":"ssh-ed25519 AAAA a@b"}`,
		`POST ` + acmeStaging + `/virtual_machines/stage1/reimage {"distribution":"noble","firstboot_script":"#!/bin/sh\ntrue\n","root_password":"` + pw + `","ssh_public_key":"ssh-ed25519 AAAA a@b"}`,
	}
	if got := loggedWrites(fake); !slices.Equal(got, want) {
		t.Errorf("writes: %s", cmp.Diff(want, got))
	}
}

func TestRescueServer(t *testing.T) {
	t.Parallel()
	c, fake := newProvisionFake(t, nil)
	ctx := t.Context()
	rescue := `{"appliance":{"name":"rescue","permanent":false},"autoreboot_on":true,"power_on":true}`

	// Running: shut down, then started in rescue.
	if err := c.RescueServer(ctx, "web1"); err != nil {
		t.Fatalf("RescueServer(web1): %v", err)
	}
	if app, _ := fake.Appliance("acme", "default", "web1"); app != "rescue" {
		t.Errorf("web1 runs %q; want rescue", app)
	}
	want := []string{
		"PUT " + acmeDefault + `/virtual_machines/web1 {"autoreboot_on":false}`,
		"POST " + acmeDefault + `/virtual_machines/web1/signal {"signal":"powerdown"}`,
		"PUT " + acmeDefault + "/virtual_machines/web1 " + rescue,
	}
	if got := loggedWrites(fake); !slices.Equal(got, want) {
		t.Errorf("writes: %s", cmp.Diff(want, got))
	}
	// restart brings back its own system.
	if err := c.RestartServer(ctx, "web1"); err != nil {
		t.Fatal(err)
	}
	if app, _ := fake.Appliance("acme", "default", "web1"); app != "" {
		t.Errorf("after restart web1 runs %q; want its own system", app)
	}

	// Off: started straight into rescue.
	fake.ResetRequests()
	if err := c.RescueServer(ctx, "stage1.staging"); err != nil {
		t.Fatalf("RescueServer(stage1): %v", err)
	}
	if got, want := loggedWrites(fake), []string{"PUT " + acmeStaging + "/virtual_machines/stage1 " + rescue}; !slices.Equal(got, want) {
		t.Errorf("writes: %s", cmp.Diff(want, got))
	}
	if app, _ := fake.Appliance("acme", "staging", "stage1"); app != "rescue" {
		t.Errorf("stage1 runs %q; want rescue", app)
	}
	// StartServerRescue on a running server: the fake refuses (it could
	// not take effect).
	if p := problemsOf(t, c.StartServerRescue(ctx, "web2")); len(p["appliance"]) == 0 {
		t.Errorf("StartServerRescue(web2) problems %v", p)
	}

	// Deleted: refused before any write.
	fake.ResetRequests()
	if err := c.RescueServer(ctx, "old1"); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("RescueServer(old1) = %v; want deleted", err)
	}
	// Wedged: a *PowerTimeoutError, and it is not started in rescue.
	fake.HangOnPowerdown("acme", "default", "db1", true)
	err := c.RescueServer(ctx, "db1")
	var pt *bytemark.PowerTimeoutError
	if !errors.As(err, &pt) || pt.Action != "rescue" || !strings.Contains(err.Error(), "nothing was started") {
		t.Errorf("RescueServer(db1) = %v; want a rescue *PowerTimeoutError", err)
	}
	if got := loggedWrites(fake); slices.ContainsFunc(got, func(w string) bool { return strings.Contains(w, "appliance") }) {
		t.Errorf("writes %q; want no start in rescue", got)
	}
}

func TestCachedDefinitions(t *testing.T) {
	t.Parallel()
	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	var mu sync.Mutex
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	c, err := bytemark.NewClient(&http.Client{Timeout: time.Minute}, bytemark.Options{
		APIURL: fake.URL(), AuthURL: fake.URL(), APIKey: bytemarktest.APIKey,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := t.Context()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			d, err := c.CachedDefinitions(ctx, 0)
			if err != nil || !d.HasDistribution("bookworm") || d.HasDistribution("windows95") ||
				d.DistributionDescriptions["bookworm"] != "Debian 12 (bookworm)" {
				t.Errorf("CachedDefinitions = %+v, %v", d, err)
			}
		})
	}
	wg.Wait()
	if n := fake.Calls("GET", "/definitions"); n != 1 {
		t.Errorf("%d reads for 8 concurrent callers; want 1", n)
	}
	// The caller's copy is its own.
	d, _ := c.CachedDefinitions(ctx, 0)
	d.Distributions[0] = "mangled"
	if d, _ := c.CachedDefinitions(ctx, 0); d.Distributions[0] == "mangled" {
		t.Error("changing a result changed the cache")
	}
	advance(59 * time.Minute)
	c.CachedDefinitions(ctx, 0)
	if n := fake.Calls("GET", "/definitions"); n != 1 {
		t.Errorf("%d reads within the hour; want 1", n)
	}
	advance(time.Minute)
	fake.FailNext("GET", "/definitions", http.StatusInternalServerError, 1)
	if _, err := c.CachedDefinitions(ctx, 0); err == nil {
		t.Error("a failed read after an hour returned the stale cache")
	}
	if d, err := c.CachedDefinitions(ctx, 0); err != nil || !d.HasDistribution("noble") {
		t.Errorf("after a failure = %+v, %v; want a fresh read", d, err)
	}
	if n := fake.Calls("GET", "/definitions"); n != 3 {
		t.Errorf("%d reads; want 3 (the first, the failed one, the one after)", n)
	}
}

// TestRootPasswordNeverShown makes creates and reimages fail in every way
// (the fake's own refusals, injected faults, and an API that echoes the
// request body in its errors) with a debug-level logger, and checks that
// the root password is in no log line and no error.
func TestRootPasswordNeverShown(t *testing.T) {
	t.Parallel()
	const pw = "Root-SECRET-8d9e0f"
	var logs logtest.Buffer
	logger := logs.JSONLogger()

	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	// The echoing API: the fake, except that creates and reimages are
	// refused with the request body in a 400 (value and key) or a 500.
	var status int
	var statusMu sync.Mutex
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/reimage") || strings.HasSuffix(r.URL.Path, "/vm_create")) {
			b, _ := io.ReadAll(r.Body)
			statusMu.Lock()
			st := status
			statusMu.Unlock()
			if st == http.StatusBadRequest {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(st)
				fmt.Fprintf(w, `{"root_password":["%s is too weak"],%q:["is odd"],"base":[%q]}`, pw, pw, b)
				return
			}
			http.Error(w, "could not handle "+string(b), st)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(echo.Close)

	c := provisionClient(t, fake.URL(), logger)
	e := provisionClient(t, echo.URL, logger)
	ctx := t.Context()
	img := bytemark.ImageInstall{Distribution: "bookworm", RootPassword: pw}
	var errs []error
	check := func(err error) {
		t.Helper()
		if err == nil {
			t.Error("want an error")
			return
		}
		errs = append(errs, err)
		var be *bytemark.Error
		if errors.As(err, &be) {
			for k, v := range be.Problems {
				errs = append(errs, errors.New(k+" "+strings.Join(v, " ")))
			}
		}
	}
	create := func(c *bytemark.Client, name string) error {
		_, err := c.CreateServer(ctx, name, bytemark.ServerSpec{Image: &img})
		return err
	}

	check(c.ReimageServer(ctx, "web1", img)) // running
	check(create(c, "web1"))                 // taken
	check(create(c, "new1.nosuch"))          // unknown group
	fake.FailNext("POST", "/reimage", http.StatusBadRequest, 1)
	check(c.ReimageServer(ctx, "stage1.staging", img))
	fake.FailNext("POST", "/vm_create", http.StatusServiceUnavailable, 1)
	check(create(c, "new2"))
	for _, st := range []int{http.StatusBadRequest, http.StatusInternalServerError, http.StatusConflict} {
		statusMu.Lock()
		status = st
		statusMu.Unlock()
		check(e.ReimageServer(ctx, "stage1.staging", img))
		check(create(e, "new3"))
	}
	// The echoes were there to be scrubbed.
	if fake.Calls("POST", "") < 5 {
		t.Errorf("only %d POSTs reached the fake", fake.Calls("POST", ""))
	}

	for _, err := range errs {
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error %q holds the root password", err)
		}
	}
	if !strings.Contains(logs.String(), "/reimage") || !strings.Contains(logs.String(), "/vm_create") {
		t.Errorf("the requests were not logged; the check is vacuous:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), pw) {
		t.Errorf("logs hold the root password:\n%s", logs.String())
	}
}
