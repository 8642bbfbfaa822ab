package bytemark_test

import (
	"testing"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

// TestListAllServers: a group's servers, deleted ones too, each with the
// identity its hostname gives; an unknown group says so.
func TestListAllServers(t *testing.T) {
	fake := bytemarktest.NewServer()
	t.Cleanup(fake.Close)
	c, err := bytemark.NewClient(fake.Client(), bytemark.Options{APIURL: fake.URL(), AuthURL: fake.URL(), APIKey: bytemarktest.APIKey, Account: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	servers, err := c.ListAllServers(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range servers {
		id, err := bytemark.IdentityOf(s)
		if err != nil {
			t.Fatalf("IdentityOf(%+v): %v", s, err)
		}
		if id.ID != s.ID || id.Name.Group != "default" || id.Name.Account != "acme" {
			t.Errorf("IdentityOf(%s) = %+v", s.Name, id)
		}
		got[id.Name.String()] = s.Deleted
	}
	want := map[string]bool{"web1.default.acme": false, "web2.default.acme": false, "db1.default.acme": false, "old1.default.acme": true}
	if len(got) != len(want) {
		t.Errorf("ListAllServers(\"\") = %v; want %v", got, want)
	}
	for name, deleted := range want {
		if d, ok := got[name]; !ok || d != deleted {
			t.Errorf("ListAllServers(\"\"): %s deleted=%v (listed %v); want deleted=%v", name, d, ok, deleted)
		}
	}
	if _, err := c.ListAllServers(t.Context(), "nosuch"); !bytemark.IsNotFound(err) {
		t.Errorf("ListAllServers(nosuch) error = %v; want not found", err)
	}
}
