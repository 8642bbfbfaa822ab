package bytemark_test

import (
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

func fakeClient(t *testing.T) (*bytemark.Client, *bytemarktest.Server) {
	t.Helper()
	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	c, err := bytemark.NewClient(fake.Client(), bytemark.Options{
		APIURL: fake.URL(), AuthURL: fake.URL(), APIKey: bytemarktest.APIKey, Account: "acme",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

// TestIdentify: every way of writing web1 (names, its hostname, numeric
// IDs in any part) is the same server, named canonically from the API.
func TestIdentify(t *testing.T) {
	t.Parallel()
	c, _ := fakeClient(t)
	want := bytemark.Identity{ID: 1001, Name: bytemark.Name{Server: "web1", Group: "default", Account: "acme"},
		Hostname: "web1.default.acme.uk0.bigv.io"}
	for _, name := range []string{"web1", "WEB1", "web1.default", "web1.default.acme", "web1.default.acme.uk0.bigv.io",
		"Web1.Default.Acme.UK0.bigv.io", "1001", "1001.default.acme", "web1.11.acme", "web1.default.1", "1001.11.1"} {
		got, err := c.Identify(t.Context(), name)
		if err != nil || got != want {
			t.Errorf("Identify(%q) = %+v, %v; want %+v", name, got, err, want)
		}
	}
	if id, _ := c.Identify(t.Context(), "stage1.staging"); id.Name.String() != "stage1.staging.acme" || id.Suffix() != "uk0.bigv.io" {
		t.Errorf("Identify(stage1.staging) = %+v", id)
	}
	// An ID is looked up in the group of the path, as the API does.
	if _, err := c.Identify(t.Context(), "1005"); !bytemark.IsNotFound(err) {
		t.Errorf("Identify(1005) (stage1, not in default) = %v; want not found", err)
	}
	if _, err := c.Identify(t.Context(), "nope"); !bytemark.IsNotFound(err) {
		t.Errorf("Identify(nope) = %v; want not found", err)
	}
}

// TestWrongSuffixRefused: anything after the account that is not the
// suffix of the API's hostname for the server is refused, never trimmed,
// and nothing is changed.
func TestWrongSuffixRefused(t *testing.T) {
	t.Parallel()
	c, fake := fakeClient(t)
	ctx := t.Context()
	for _, name := range []string{"web1.default.acme.uk1.bigv.io", "web1.default.acme.uk0.bigv.io.evil.com", "web1.default.acme.evil", "web1.default.acme.bigv.io"} {
		if _, err := c.Identify(ctx, name); !bytemark.IsWrongSuffix(err) || !strings.Contains(err.Error(), "web1.default.acme.uk0.bigv.io") {
			t.Errorf("Identify(%q) = %v; want a suffix error naming the real hostname", name, err)
		}
		if s, err := c.GetServer(ctx, name); !bytemark.IsWrongSuffix(err) {
			t.Errorf("GetServer(%q) = %v, %v; want a suffix error", name, s, err)
		}
		for what, call := range map[string]func() error{
			"purge":      func() error { return c.PurgeServer(ctx, name) },
			"delete":     func() error { return c.DeleteServer(ctx, name) },
			"stop":       func() error { return c.StopServer(ctx, name) },
			"disc purge": func() error { return c.PurgeDisc(ctx, name, "root") },
			"discs":      func() error { _, err := c.Discs(ctx, name); return err },
		} {
			if err := call(); !bytemark.IsWrongSuffix(err) {
				t.Errorf("%s %q = %v; want a suffix error", what, name, err)
			}
		}
	}
	for _, r := range fake.Requests() {
		if r.Method != "GET" {
			t.Errorf("%s %s sent for a refused name", r.Method, r.Path)
		}
	}
	if s, ok := fake.Server("acme", "default", "web1"); !ok || s.Deleted || !s.PowerOn {
		t.Errorf("web1 = %+v, %v; want it untouched", s, ok)
	}
	// The right suffix works for every call.
	if err := c.StopServer(ctx, "web1.default.acme.uk0.bigv.io"); err != nil {
		t.Errorf("stop with the API's suffix: %v", err)
	}
}

// TestDestroyByID: the ByID calls reach the server by its numeric ID, so a
// rename between the check and the call can't redirect them to the server
// renamed into its place.
func TestDestroyByID(t *testing.T) {
	t.Parallel()
	c, fake := fakeClient(t)
	ctx := t.Context()
	id, err := c.Identify(ctx, "web2")
	if err != nil {
		t.Fatal(err)
	}
	// Between the last check and the purge, web2 is renamed away and web1
	// takes its name.
	renamed := false
	fake.OnRequest(func(method, path string) {
		if method == "DELETE" && !renamed {
			renamed = true
			if !fake.Rename("acme", "default", "web2", "web2-old") || !fake.Rename("acme", "default", "web1", "web2") {
				t.Error("renaming in the fake failed")
			}
		}
	})
	if err := c.PurgeServerByID(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.Server("acme", "default", "web2-old"); ok {
		t.Error("the approved server (now web2-old) was not purged")
	}
	if s, ok := fake.Server("acme", "default", "web2"); !ok || s.ID != 1001 || s.Deleted {
		t.Errorf("the server renamed into place = %+v, %v; want it untouched", s, ok)
	}
	if n := fake.Calls("DELETE", "/virtual_machines/1002"); n != 1 {
		t.Errorf("DELETE by ID calls = %d; want 1", n)
	}

	// A server named like another's ID would shadow it in the nested path
	// (names are looked up first): refused, nothing done.
	fake.OnRequest(nil)
	db1, err := c.Identify(ctx, "db1")
	if err != nil {
		t.Fatal(err)
	}
	if !fake.Rename("acme", "default", "web2", "1003") {
		t.Fatal("rename")
	}
	if err := c.DeleteServerByID(ctx, db1); err == nil || !strings.Contains(err.Error(), "nothing was done") {
		t.Errorf("DeleteServerByID(db1) with a server named 1003 = %v; want a refusal", err)
	}
	if err := c.PurgeDiscByID(ctx, db1, "data"); err == nil {
		t.Error("PurgeDiscByID(db1) with a server named 1003 = nil; want a refusal")
	}
	for _, name := range []string{"1003", "db1"} {
		if s, ok := fake.Server("acme", "default", name); !ok || s.Deleted || len(s.Discs) == 0 {
			t.Errorf("%s = %+v, %v; want it untouched", name, s, ok)
		}
	}
	if !fake.Rename("acme", "default", "1003", "web9") {
		t.Fatal("rename back")
	}
	if err := c.PurgeDiscByID(ctx, db1, "data"); err != nil {
		t.Fatal(err)
	}
	if s, _ := fake.Server("acme", "default", "db1"); len(s.Discs) != 2 {
		t.Errorf("db1 discs = %+v; want data purged", s.Discs)
	}
}

// TestIdentifyAll: many names at once give what Identify gives each, with
// one read per group named more than once.
func TestIdentifyAll(t *testing.T) {
	t.Parallel()
	c, fake := fakeClient(t)
	names := []string{"web1", "1001", "web1.default.acme.uk0.bigv.io", "WEB2", "nope", "web1.default.acme.uk1.bigv.io",
		"web1.11.acme", "stage1.staging", "db1.nogroup", "db1.nogroup.acme", "old1", "web1"}
	fake.ResetRequests()
	ids, errs := c.IdentifyAll(t.Context(), names)
	for _, name := range names {
		want, wantErr := c.Identify(t.Context(), name)
		got, err := ids[name], errs[name]
		if got != want || (err == nil) != (wantErr == nil) || bytemark.IsNotFound(err) != bytemark.IsNotFound(wantErr) ||
			bytemark.IsWrongSuffix(err) != bytemark.IsWrongSuffix(wantErr) {
			t.Errorf("IdentifyAll: %s = %+v, %v; Identify gives %+v, %v", name, got, err, want, wantErr)
		}
		if err == nil && got.ID == 0 {
			t.Errorf("IdentifyAll: %s has neither an identity nor an error", name)
		}
	}
	if ids["1001"].ID != 1001 || ids["old1"].ID != 1004 {
		t.Errorf("ids = %+v", ids)
	}
	// default.acme and nogroup.acme are read once each; web1.11.acme and
	// stage1.staging are alone in theirs.
	n := 0
	for _, r := range fake.Requests() {
		if r.Method == "GET" && r.Path != "/accounts" {
			n++
		}
	}
	if want := 2 + 2 + len(names); n != want { // + the Identify calls of the check above
		t.Errorf("IdentifyAll made %d reads; want %d", n-len(names), want-len(names))
	}
}

// TestReimageByID: ReimageServerByID reaches the server by its numeric ID
// (a rename just before the call doesn't redirect it), and refuses when
// the path answers with another server.
func TestReimageByID(t *testing.T) {
	t.Parallel()
	c, fake := fakeClient(t)
	ctx := t.Context()
	id, err := c.Identify(ctx, "web2")
	if err != nil {
		t.Fatal(err)
	}
	if !fake.SetPower("acme", "default", "web2", false) {
		t.Fatal("power off")
	}
	renamed := false
	fake.OnRequest(func(method, path string) {
		if method == "POST" && strings.HasSuffix(path, "/reimage") && !renamed {
			renamed = true
			if !fake.Rename("acme", "default", "web2", "web2-old") || !fake.Rename("acme", "default", "web1", "web2") {
				t.Error("renaming in the fake failed")
			}
		}
	})
	img := bytemark.ImageInstall{Distribution: "noble", RootPassword: "s3cret-Root-pw-123"}
	if err := c.ReimageServerByID(ctx, id, img); err != nil {
		t.Fatal(err)
	}
	if s, _ := fake.Server("acme", "default", "web2-old"); s.LastImagedWith != "noble" {
		t.Errorf("the server reimaged by ID (now web2-old) was imaged with %q; want noble", s.LastImagedWith)
	}
	if s, _ := fake.Server("acme", "default", "web2"); s.ID != 1001 || s.LastImagedWith == "noble" {
		t.Errorf("the server renamed into place = %+v; want it untouched", s)
	}
	fake.OnRequest(nil)
	db1, err := c.Identify(ctx, "db1")
	if err != nil {
		t.Fatal(err)
	}
	if !fake.Rename("acme", "default", "web2", "1003") {
		t.Fatal("rename")
	}
	err = c.ReimageServerByID(ctx, db1, img)
	if err == nil || !strings.Contains(err.Error(), "nothing was done") || strings.Contains(err.Error(), img.RootPassword) {
		t.Errorf("ReimageServerByID(db1) with a server named 1003 = %v; want a refusal without the password", err)
	}
}

// TestUndeleteServerByID: a deleted server is undeleted by its ID (PUT
// deleted:false on the ID's path), whatever it is called now; a server
// named like its ID is refused and left alone.
func TestUndeleteServerByID(t *testing.T) {
	t.Parallel()
	c, fake := fakeClient(t)
	ctx := t.Context()
	id, err := c.Identify(ctx, "web2")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteServerByID(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !fake.Rename("acme", "default", "web2", "web2-old") {
		t.Fatal("rename")
	}
	if err := c.UndeleteServerByID(ctx, id); err != nil {
		t.Fatal(err)
	}
	if s, ok := fake.Server("acme", "default", "web2-old"); !ok || s.Deleted {
		t.Errorf("web2-old = %+v, %v; want it undeleted", s, ok)
	}
	if n := fake.Calls("PUT", "/virtual_machines/1002"); n != 1 {
		t.Errorf("PUT by ID calls = %d; want 1", n)
	}
	db1, err := c.Identify(ctx, "db1")
	if err != nil {
		t.Fatal(err)
	}
	if !fake.Rename("acme", "default", "web1", "1003") {
		t.Fatal("rename")
	}
	if err := c.UndeleteServerByID(ctx, db1); err == nil || !strings.Contains(err.Error(), "nothing was done") {
		t.Errorf("UndeleteServerByID(db1) with a server named 1003 = %v; want a refusal", err)
	}
}
