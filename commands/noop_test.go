package commands_test

import (
	"strings"
	"testing"
)

// TestNoOpsAreClear: asking for what is already so sends nothing to the
// API and says so, instead of failing with the API's raw refusal.
func TestNoOpsAreClear(t *testing.T) {
	fake, c := newClient(t)
	// web1 is on, and not deleted. Power it off for the "off" cases after.
	for _, tt := range []struct{ in, want string }{
		{"start web1", "`web1.default.acme` is already on"},
		{"undelete web1", "`web1.default.acme` isn't deleted"},
	} {
		before := len(writes(fake))
		res, err := run(t, c, tt.in)
		if err != nil {
			t.Errorf("%s: error %v; want a no-op result", tt.in, err)
			continue
		}
		if !strings.Contains(res.Summary, tt.want) || !res.NoOp {
			t.Errorf("%s: summary %q (NoOp %v); want %q, NoOp", tt.in, res.Summary, res.NoOp, tt.want)
		}
		if w := writes(fake)[before:]; len(w) != 0 {
			t.Errorf("%s sent %q to the API; want nothing", tt.in, w)
		}
	}
	if _, err := run(t, c, "stop web1"); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"stop web1", "shutdown web1", "reset web1"} {
		before := len(writes(fake))
		res, err := run(t, c, in)
		if err != nil {
			t.Errorf("%s: error %v; want a no-op result", in, err)
			continue
		}
		if !strings.Contains(res.Summary, "`web1.default.acme` is already off") || !res.NoOp {
			t.Errorf("%s: summary %q; want it to say web1 is already off", in, res.Summary)
		}
		if w := writes(fake)[before:]; len(w) != 0 {
			t.Errorf("%s sent %q to the API; want nothing", in, w)
		}
	}
	// A restart of a server that is off says how to start it.
	res, err := run(t, c, "restart web1")
	if err != nil || !strings.Contains(res.Summary, "is off") || !strings.Contains(res.Summary, "/bytemark start web1.default.acme") {
		t.Errorf("restart of an off server = %q, %v; want it to say it is off and how to start it", res.Summary, err)
	}
}
