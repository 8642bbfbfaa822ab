package commands

import (
	"errors"
	"strings"
	"testing"
)

// TestParseTargets: the power commands take a group or a glob; every other
// command that takes a server refuses one when it is parsed.
func TestParseTargets(t *testing.T) {
	tests := []struct {
		in      string
		want    Action
		wantErr string
	}{
		{in: "restart group:staging", want: Many{Action: Restart{}, Target: Target{Group: "staging"}}},
		{in: "Stop GROUP:Staging.Acme", want: Many{Action: Stop{}, Target: Target{Group: "staging.acme"}}},
		{in: "start web*", want: Many{Action: Start{}, Target: Target{Glob: "web*"}}},
		{in: "reset web?.staging", want: Many{Action: Reset{}, Target: Target{Glob: "web?", Group: "staging"}}},
		{in: "shutdown web[1-3].staging.acme", want: Many{Action: Shutdown{}, Target: Target{Glob: "web[1-3]", Group: "staging.acme"}}},
		{in: "reboot web*", want: Many{Action: Reboot{Method: RebootGraceful}, Target: Target{Glob: "web*"}}},
		{in: "reboot group:staging CYCLE", want: Many{Action: Reboot{Method: RebootCycle}, Target: Target{Group: "staging"}}},
		{in: "reboot web* hard", wantErr: "`hard` isn't a reboot method"},
		{in: "restart group:", wantErr: "`group:` names no group"},
		{in: "restart group:a.b.c", wantErr: "too many parts"},
		{in: "restart group:web*", wantErr: "a group can't be a glob"},
		{in: "restart web*.st*", wantErr: "only the server's own name may be a glob"},
		{in: "restart web[", wantErr: "unclosed `[`"},
		{in: "restart web_*", wantErr: "it has the character `_`"},
		{in: "restart *..acme", wantErr: "empty part"},
		{in: "restart group:x y", wantErr: "Too many arguments"},
		// Destructive and other one-server commands: refused at parse time.
		{in: "delete group:x", wantErr: "=`delete` takes exactly one server, not `group:x`: only the power commands (`start`, `stop`, `restart`, `reset`, `shutdown`, `reboot`) take a group or a glob. Name the server, e.g. `/bytemark delete web1`.\nUsage: `/bytemark delete &lt;server&gt;`"},
		{in: "purge web*", wantErr: "`purge` takes exactly one server"},
		{in: "reimage group:staging bookworm", wantErr: "`reimage` takes exactly one server"},
		{in: "create web*", wantErr: "`create` takes exactly one server"},
		{in: "disc add group:x data 10G", wantErr: "`disc add` takes exactly one server"},
		{in: "disc resize web* data 10G", wantErr: "`disc resize` takes exactly one server"},
		{in: "disc purge web* data", wantErr: "`disc purge` takes exactly one server"},
		{in: "undelete web*", wantErr: "`undelete` takes exactly one server"},
		{in: "resize web* cores 2", wantErr: "`resize` takes exactly one server"},
		{in: "move group:default staging", wantErr: "`move` takes exactly one server"},
		{in: "rename web* www", wantErr: "`rename` takes exactly one server"},
		{in: "rescue web*", wantErr: "`rescue` takes exactly one server"},
		{in: "show web*", wantErr: "`show` takes exactly one server"},
		{in: "audit group:x", wantErr: "`audit` takes exactly one server"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
			continue
		}
		var u *UsageError
		if !errors.As(err, &u) || got != nil {
			t.Errorf("Parse(%q) = %#v, %v; want a *UsageError", tt.in, got, err)
			continue
		}
		if exact, ok := strings.CutPrefix(tt.wantErr, "="); ok {
			if u.Msg != exact {
				t.Errorf("Parse(%q) error = %q; want %q", tt.in, u.Msg, exact)
			}
		} else if !strings.Contains(u.Msg, tt.wantErr) {
			t.Errorf("Parse(%q) error = %q; want it to contain %q", tt.in, u.Msg, tt.wantErr)
		}
	}
}

// TestMany: a Many is its power command to policies (Name, Effects), has no
// one server, and gives the action on each server.
func TestMany(t *testing.T) {
	a, err := Parse("reboot web* cycle")
	if err != nil {
		t.Fatal(err)
	}
	m := a.(Many)
	if m.Name() != "reboot" || m.Server() != "" || m.Destructive() || ReadOnly(m) {
		t.Errorf("%#v: Name %q, Server %q, Destructive %v, ReadOnly %v", m, m.Name(), m.Server(), m.Destructive(), ReadOnly(m))
	}
	if got, want := strings.Join(Effects(m), ","), "reboot,stop,start"; got != want {
		t.Errorf("Effects(%q) = %s; want %s", m, got, want)
	}
	if got, want := m.For("web1.default.acme"), (Reboot{Target: "web1.default.acme", Method: RebootCycle}); got != want {
		t.Errorf("For = %#v; want %#v", got, want)
	}
	for name, want := range map[string]bool{"web1": true, "web": true, "www1": false, "db1": false} {
		if got := m.Target.Match(name); got != want {
			t.Errorf("%s.Match(%q) = %v; want %v", m.Target, name, got, want)
		}
	}
	if !(Target{Group: "staging"}).Match("anything") {
		t.Error("a group target doesn't match a server of its group")
	}
	// Hand-built values are checked.
	for _, bad := range []Action{
		Many{Action: Delete{}, Target: Target{Group: "x"}},
		Many{Action: Restart{Target: "web1"}, Target: Target{Group: "x"}},
		Many{Action: Restart{}, Target: Target{}},
		Many{Action: Restart{}, Target: Target{Glob: "WEB*"}},
		Many{Action: Reboot{Method: "hard"}, Target: Target{Glob: "web*"}},
		Many{},
	} {
		if err := Validate(bad); err == nil {
			t.Errorf("Validate(%#v) = nil; want an error", bad)
		}
	}
	for _, topic := range powerCommands {
		if h := HelpText(topic); !strings.Contains(h, "`group:&lt;group&gt;[.&lt;account&gt;]`") {
			t.Errorf("help %s doesn't explain targets of many servers:\n%s", topic, h)
		}
	}
	if h := HelpText("delete"); strings.Contains(h, "group:") {
		t.Errorf("help delete offers targets of many servers:\n%s", h)
	}
}
