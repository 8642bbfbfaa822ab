package commands

import (
	"slices"
	"testing"
	"time"
)

// TestApprovalFollowsEffects: approval rules match what an action does, not
// the word typed. `reboot X cycle` pulls the plug and starts the server, so
// APPROVAL_ACTIONS=stop covers it; typing it must not bypass the rule.
func TestApprovalFollowsEffects(t *testing.T) {
	tests := []struct {
		csv    string
		need   []string
		noNeed []string
	}{
		{"stop", []string{"stop web1", "reboot web1 cycle"}, []string{"reboot web1 reset", "reboot web1", "reboot web1 graceful", "start web1", "restart web1"}},
		{"start", []string{"start web1", "reboot web1 cycle"}, []string{"reboot web1 reset", "reboot web1 graceful"}},
		{"reset", []string{"reset web1", "reboot web1 reset"}, []string{"reboot web1 cycle", "reboot web1"}},
		{"restart", []string{"restart web1", "reboot web1", "reboot web1 graceful"}, []string{"reboot web1 cycle", "reboot web1 reset"}},
		{"reboot", []string{"reboot web1", "reboot web1 cycle", "reboot web1 reset"}, []string{"stop web1", "reset web1", "restart web1"}},
	}
	for _, tt := range tests {
		p, err := ParsePolicy(tt.csv)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range tt.need {
			a, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			if !p.NeedsApproval(a) {
				t.Errorf("APPROVAL_ACTIONS=%s: %q does not need approval; want it to (it does %v)", tt.csv, text, Effects(a))
			}
			if got := p.Why(a); got == "" {
				t.Errorf("APPROVAL_ACTIONS=%s: Why(%q) is empty; want the rule that asks for approval", tt.csv, text)
			}
		}
		for _, text := range tt.noNeed {
			a, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			if p.NeedsApproval(a) {
				t.Errorf("APPROVAL_ACTIONS=%s: %q needs approval; want it not to (it does %v)", tt.csv, text, Effects(a))
			}
		}
	}
}

func TestEffects(t *testing.T) {
	for text, want := range map[string][]string{
		"reboot web1 cycle":    {"reboot", "stop", "start"},
		"reboot web1 reset":    {"reboot", "reset"},
		"reboot web1 graceful": {"reboot", "restart"},
		"reboot web1":          {"reboot", "restart"},
		"stop web1":            {"stop"},
		"purge web1":           {"purge"},
		"disc add web1 d 10G":  {"disc add"},
	} {
		a, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := Effects(a); !slices.Equal(got, want) {
			t.Errorf("Effects(%q) = %q; want %q", text, got, want)
		}
	}
	// Every effect is a command that changes servers, so that a rule can
	// name it.
	for _, does := range effects {
		for _, name := range does {
			if c := lookup(name); c == nil || c.kind != writes {
				t.Errorf("effect %q is not a command that changes servers", name)
			}
		}
	}
}

func TestEscapeAndCode(t *testing.T) {
	if got, want := Escape("<!channel> & <@U1> *b*"), "&lt;!channel&gt; &amp; &lt;@U1&gt; *b*"; got != want {
		t.Errorf("Escape = %q; want %q", got, want)
	}
	if got, want := Code("a`b\n<!here>"), "`a'b &lt;!here&gt;`"; got != want {
		t.Errorf("Code = %q; want %q", got, want)
	}
}

// TestServerCommandEffects: the server commands that take a running
// server down and up again amount to a restart too; all of them may be
// listed in APPROVAL_ACTIONS, images may not, and reimage always needs
// approval.
func TestServerCommandEffects(t *testing.T) {
	for text, want := range map[string][]string{
		"resize web1 cores 2":         {"resize"},
		"resize web1 cores 2 restart": {"resize", "restart"},
		"rename web1 www1":            {"rename"},
		"move web1 staging":           {"move", "restart"},
		"create new1":                 {"create"},
		"reimage web1 bookworm":       {"reimage"},
		"rescue web1":                 {"rescue", "restart"},
		"images":                      {"images"},
	} {
		a, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := Effects(a); !slices.Equal(got, want) {
			t.Errorf("Effects(%q) = %q; want %q", text, got, want)
		}
	}
	p, err := ParsePolicy("resize,rename,move,rescue")
	if err != nil {
		t.Fatalf("ParsePolicy = %v", err)
	}
	for _, text := range []string{"resize web1 cores 2", "rename web1 www1", "move web1 staging", "rescue web1"} {
		if a, _ := Parse(text); !p.NeedsApproval(a) {
			t.Errorf("%q doesn't need approval with all the server commands listed", text)
		}
	}
	none, _ := ParsePolicy("none")
	if a, _ := Parse("reimage web1 bookworm"); !none.NeedsApproval(a) || !Irreversible("reimage") {
		t.Errorf("reimage doesn't always need approval, or isn't irreversible")
	}
	if a, _ := Parse("create new1"); none.NeedsApproval(a) {
		t.Errorf("create needs approval with APPROVAL_ACTIONS=none")
	}
	if _, err := ParsePolicy("images"); err == nil {
		t.Errorf("ParsePolicy(images) = nil; want a refusal (it changes nothing)")
	}
	for name, want := range map[string]time.Duration{"resize": powerTimeout, "move": powerTimeout, "create": powerTimeout, "reimage": powerTimeout, "rescue": powerTimeout, "rename": writeTimeout, "images": readTimeout} {
		if a, err := Parse(HelpExamples(name)[0]); err != nil || Timeout(a) != want {
			t.Errorf("Timeout(%s) = %v, %v; want %v", name, Timeout(a), err, want)
		}
	}
}

// TestParsePolicyCreate: create may wait for approval (its card shows the
// server to be made).
func TestParsePolicyCreate(t *testing.T) {
	p, err := ParsePolicy("delete,create")
	if err != nil {
		t.Fatalf(`ParsePolicy("delete,create") = %v`, err)
	}
	if a, _ := Parse("create new1"); !p.NeedsApproval(a) {
		t.Error("create doesn't need approval with APPROVAL_ACTIONS=delete,create")
	}
}
