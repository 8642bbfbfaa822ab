package commands

import (
	"errors"
	"strings"
	"testing"
)

const (
	usageRestart = "\nUsage: `/bytemark restart &lt;server&gt;`"
	usageDiscAdd = "\nUsage: `/bytemark disc add &lt;server&gt; &lt;label&gt; &lt;size&gt; [sata|archive|ssd]`"
	serverHint   = " Server names look like `web1` or `web1.group.account`."
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Action
		wantErr string // the whole UsageError.Msg if it starts with "=", else a substring
	}{
		// Every command, valid.
		{name: "empty", in: "", want: Help{}},
		{name: "blank", in: "   \t ", want: Help{}},
		{name: "help", in: "help", want: Help{}},
		{name: "help topic", in: "help Restart", want: Help{Topic: "restart"}},
		{name: "help disc", in: "help disc", want: Help{Topic: "disc"}},
		{name: "help disc add", in: "help  disc   ADD", want: Help{Topic: "disc add"}},
		{name: "list", in: "list", want: List{}},
		{name: "list group", in: "list Staging", want: List{Group: "staging"}},
		{name: "list group.account", in: "list staging.acme", want: List{Group: "staging.acme"}},
		{name: "show", in: "show web1", want: Show{Target: "web1"}},
		{name: "show full", in: "show web1.default.acme", want: Show{Target: "web1.default.acme"}},
		{name: "show hostname", in: "show web1.default.acme.uk0.bigv.io", want: Show{Target: "web1.default.acme.uk0.bigv.io"}},
		// Kept whole, never trimmed: the client checks the suffix against
		// the API's hostname for the server.
		{name: "purge other suffix", in: "purge Web1.default.acme.UK1.bigv.io", want: Purge{Target: "web1.default.acme.uk1.bigv.io"}},
		{name: "show longer suffix", in: "show web1.default.acme.uk0.bigv.io.evil.com", want: Show{Target: "web1.default.acme.uk0.bigv.io.evil.com"}},
		{name: "numeric ids", in: "restart web1.11.1", want: Restart{Target: "web1.11.1"}},
		{name: "phone capitals", in: "Restart WEB1", want: Restart{Target: "web1"}},
		{name: "spaces", in: "  restart \u00a0  web1  ", want: Restart{Target: "web1"}},
		{name: "start", in: "start web1", want: Start{Target: "web1"}},
		{name: "stop", in: "stop web1", want: Stop{Target: "web1"}},
		{name: "restart", in: "restart web1", want: Restart{Target: "web1"}},
		{name: "reset", in: "reset web1", want: Reset{Target: "web1"}},
		{name: "shutdown", in: "shutdown web1", want: Shutdown{Target: "web1"}},
		{name: "reboot", in: "reboot web1.default.acme", want: Reboot{Target: "web1.default.acme", Method: RebootGraceful}},
		{name: "reboot reset", in: "reboot web1 reset", want: Reboot{Target: "web1", Method: RebootReset}},
		{name: "reboot cycle", in: "reboot web1 CYCLE", want: Reboot{Target: "web1", Method: RebootCycle}},
		{name: "delete", in: "delete web1", want: Delete{Target: "web1"}},
		{name: "undelete", in: "undelete web1", want: Undelete{Target: "web1"}},
		{name: "purge", in: "purge web1", want: Purge{Target: "web1"}},
		{name: "discs", in: "discs web1", want: Discs{Target: "web1"}},
		{name: "disc add", in: "disc add web1 data 25G", want: DiscAdd{Target: "web1", Label: "data", SizeMiB: 25600, Grade: "sata"}},
		{name: "disc add grade", in: "disc add web1 backups 1T archive", want: DiscAdd{Target: "web1", Label: "backups", SizeMiB: 1 << 20, Grade: "archive"}},
		{name: "disc add ssd", in: "Disc Add web1 fast 1.5G SSD", want: DiscAdd{Target: "web1", Label: "fast", SizeMiB: 1536, Grade: "ssd"}},
		{name: "disc add bare GiB", in: "disc add web1 data 50", want: DiscAdd{Target: "web1", Label: "data", SizeMiB: 51200, Grade: "sata"}},
		{name: "disc add label case kept", in: "disc add web1 Data_2 25GiB", want: DiscAdd{Target: "web1", Label: "Data_2", SizeMiB: 25600, Grade: "sata"}},
		{name: "disc add vdisk is fine", in: "disc add web1 vdisk 1G", want: DiscAdd{Target: "web1", Label: "vdisk", SizeMiB: 1024, Grade: "sata"}},
		{name: "disc add max", in: "disc add web1 data 2T", want: DiscAdd{Target: "web1", Label: "data", SizeMiB: 2 << 20, Grade: "sata"}},
		{name: "disc add min", in: "disc add web1 data 1024M", want: DiscAdd{Target: "web1", Label: "data", SizeMiB: 1024, Grade: "sata"}},
		{name: "disc resize", in: "disc resize web1 data 100G", want: DiscResize{Target: "web1", Label: "data", SizeMiB: 102400}},
		{name: "disc resize legacy label", in: "disc resize web1 vda 40G", want: DiscResize{Target: "web1", Label: "vda", SizeMiB: 40960}},
		{name: "disc purge", in: "disc purge web1 data", want: DiscPurge{Target: "web1", Label: "data"}},
		{name: "approvals", in: "approvals", want: Approvals{}},
		{name: "cancel", in: "cancel T8k2M4", want: Cancel{Ticket: "T8k2M4"}},
		{name: "audit", in: "audit", want: Audit{}},
		{name: "audit server", in: "audit Web1", want: Audit{Target: "web1"}},

		// The server commands.
		{name: "resize", in: "resize web1 cores 4", want: Resize{Target: "web1", Cores: 4}},
		{name: "resize both", in: "Resize WEB1 MEMORY 8g cores 2", want: Resize{Target: "web1", Cores: 2, MemoryMiB: 8192}},
		{name: "resize restart", in: "resize web1 memory 512M restart", want: Resize{Target: "web1", MemoryMiB: 512, Restart: true}},
		{name: "rename", in: "rename web1 WWW1", want: Rename{Target: "web1", NewName: "www1"}},
		{name: "move", in: "move web1 Staging.acme", want: Move{Target: "web1", Group: "staging.acme"}},
		{name: "create defaults", in: "create new1", want: Create{Target: "new1", Cores: 1, MemoryMiB: 1024, Discs: [8]NewDisc{{25600, "sata"}}, Distribution: "symbiosis"}},
		{name: "create all", in: "create new1.staging cores 2 memory 4G disc 50G:SSD disc 1T:archive image Bookworm stopped",
			want: Create{Target: "new1.staging", Cores: 2, MemoryMiB: 4096, Discs: [8]NewDisc{{51200, "ssd"}, {1 << 20, "archive"}}, Distribution: "bookworm", Stopped: true}},
		{name: "create no-image", in: "create new1 disc 10", want: Create{Target: "new1", Cores: 1, MemoryMiB: 1024, Discs: [8]NewDisc{{10240, "sata"}}, Distribution: "symbiosis"}},
		{name: "create no image", in: "create new1 no-image", want: Create{Target: "new1", Cores: 1, MemoryMiB: 1024, Discs: [8]NewDisc{{25600, "sata"}}}},
		{name: "reimage", in: "reimage web1 Bookworm", want: Reimage{Target: "web1", Distribution: "bookworm"}},
		{name: "rescue", in: "rescue web1", want: Rescue{Target: "web1"}},
		{name: "images", in: "images", want: Images{}},
		{name: "resize nothing", in: "resize web1", wantErr: "`resize` needs `cores &lt;n&gt;`, `memory &lt;size&gt;` or both"},
		{name: "resize 0 cores", in: "resize web1 cores 0", wantErr: "A server needs at least 1 core, not `0`."},
		{name: "resize memory 0", in: "resize web1 memory 0", wantErr: "`0` is less memory than a server can have; the least is 512 MiB."},
		{name: "resize odd memory", in: "resize web1 memory 1536M", wantErr: "use 512M or whole GiB"},
		{name: "resize twice", in: "resize web1 cores 2 cores 4", wantErr: "`cores` is given twice"},
		{name: "resize no value", in: "resize web1 cores", wantErr: "`cores` needs a value after it, e.g. `cores 2`."},
		{name: "resize typo", in: "resize web1 core 2", wantErr: "Did you mean `cores`?"},
		{name: "resize bad cores", in: "resize web1 cores two", wantErr: "`two` isn't a number of cores"},
		{name: "resize many cores", in: "resize web1 cores 9999", wantErr: "more than a server can have"},
		{name: "rename short", in: "rename web1 ab", wantErr: "too short for a server's name"},
		{name: "rename dotted", in: "rename web1 www1.staging", wantErr: "can't be a server's name: it has the character `.`"},
		{name: "rename digits", in: "rename web1 1002", wantErr: "reads as a server's ID"},
		{name: "move bad group", in: "move web1 a.b.c", wantErr: "it has too many parts"},
		{name: "move no group", in: "move web1", wantErr: "`move` needs a group"},
		{name: "create hostname", in: "create new1.default.acme.uk0.bigv.io", wantErr: "has too many parts for a new server"},
		{name: "create 0 cores", in: "create new1 cores 0", wantErr: "at least 1 core"},
		{name: "create memory 0", in: "create new1 memory 0", wantErr: "less memory than a server can have"},
		{name: "create disc 0", in: "create new1 disc 0", wantErr: "smaller than the smallest disc"},
		{name: "create bad grade", in: "create new1 disc 10G:fast", wantErr: "`fast` isn't a storage grade"},
		{name: "create nine discs", in: "create new1" + strings.Repeat(" disc 1G", 9), wantErr: "at most 8 discs"},
		{name: "create both images", in: "create new1 image bookworm no-image", wantErr: "not both"},
		{name: "create bad image", in: "create new1 image ../x", wantErr: "isn't the name of an image"},
		{name: "create no name", in: "create", wantErr: "`create` needs the new server's name"},
		{name: "reimage no image", in: "reimage web1", wantErr: "`reimage` needs an image"},
		{name: "images extra", in: "images all", wantErr: "Too many arguments"},

		// Common mistakes, with the exact message.
		{name: "missing server", in: "restart",
			wantErr: "=`restart` needs a server name, e.g. `/bytemark restart web1`." + usageRestart},
		{name: "too many args", in: "restart web1 web2",
			wantErr: "=Too many arguments: `restart` takes a server name, and `web2` is extra." + usageRestart},
		{name: "bad size", in: "disc add web1 data 10Q",
			wantErr: "=`10Q` isn't a size I understand. Write sizes like `25G`, `2048M` or `1T` (a bare number is GiB)." + usageDiscAdd},
		{name: "size too small", in: "disc add web1 data 512M",
			wantErr: "=`512M` is smaller than the smallest disc, 1 GiB." + usageDiscAdd},
		{name: "size too big", in: "disc add web1 data 3T",
			wantErr: "=`3T` is bigger than the largest disc, 2 TiB." + usageDiscAdd},
		{name: "size with space", in: "disc add web1 data 25 GB",
			wantErr: "=Write the size and its unit together, e.g. `25G`." + usageDiscAdd},
		{name: "size not whole MiB", in: "disc add web1 data 1.1G",
			wantErr: "=`1.1G` isn't a whole number of MiB; give the size in M, e.g. `1127M`." + usageDiscAdd},
		{name: "device label", in: "disc add web1 vda 10G",
			wantErr: "=`vda` can't be a disc label: it looks like a Unix device name, which Bytemark refuses. Choose a name such as `data` or `backups`." + usageDiscAdd},
		{name: "device label sdb", in: "disc add web1 SDB 10G", wantErr: "looks like a Unix device name"},
		{name: "device label hdc", in: "disc add web1 hdc 10G", wantErr: "looks like a Unix device name"},
		{name: "device label xvdb", in: "disc add web1 xvdb 10G", wantErr: "looks like a Unix device name"},
		{name: "device label partition", in: "disc add web1 vdb1 10G", wantErr: "looks like a Unix device name"},
		{name: "label bad char", in: "disc add web1 my.disc 10G", wantErr: "=`my.disc` isn't a disc label: it has the character `.`. Disc labels are letters, digits, `-` and `_`, e.g. `data`." + usageDiscAdd},
		{name: "label too long", in: "disc add web1 " + strings.Repeat("a", 64) + " 10G", wantErr: "too long for a disc label"},
		{name: "bad grade", in: "disc add web1 data 10G fast", wantErr: "=`fast` isn't a storage grade; use `sata`, `archive` or `ssd`." + usageDiscAdd},
		{name: "missing size", in: "disc add web1 data", wantErr: "=`disc add` needs a size, e.g. `/bytemark disc add web1 data 50G`." + usageDiscAdd},
		{name: "unknown command", in: "frobnicate web1", wantErr: "=I don't know the command `frobnicate`. Try `/bytemark help` for the list."},
		{name: "typo", in: "restrat web1", wantErr: "=I don't know the command `restrat`. Did you mean `restart`? Try `/bytemark help` for the list."},
		{name: "typo reboot", in: "rebot web1", wantErr: "Did you mean `reboot`?"},
		{name: "typo disk", in: "disk add web1 data 10G", wantErr: "Did you mean `disc add`?"},
		{name: "disc alone", in: "disc", wantErr: "`disc` needs `add`, `resize` or `purge`"},
		{name: "disc server", in: "disc web1", wantErr: "Did you mean `/bytemark discs web1`?"},
		{name: "disc typo", in: "disc ad web1 data 1G", wantErr: "=`disc` can't `ad`; it can `add`, `resize` or `purge`. Did you mean `disc add`?"},
		{name: "bad server", in: "delete web1*x!", wantErr: "=`delete` takes exactly one server, not `web1*x!`: only the power commands (`start`, `stop`, `restart`, `reset`, `shutdown`, `reboot`) take a group or a glob. Name the server, e.g. `/bytemark delete web1`.\nUsage: `/bytemark delete &lt;server&gt;`"},
		{name: "bad server char", in: "delete web_1", wantErr: "=`web_1` isn't a server name: it has the character `_`; use letters, digits and hyphens." + serverHint + "\nUsage: `/bytemark delete &lt;server&gt;`"},
		{name: "path server", in: "reboot ../x", wantErr: "=`../x` isn't a server name: it has an empty part (a dot at the start or end, or two together)." + serverHint + "\nUsage: `/bytemark reboot &lt;server&gt; [graceful|reset|cycle]`"},
		{name: "hyphen server", in: "show -web1", wantErr: "a part starts or ends with a hyphen"},
		{name: "junk after hostname", in: "show web1.default.acme.x_y", wantErr: "has the character `_`"},
		{name: "bad method", in: "reboot web1 hard", wantErr: "=`hard` isn't a reboot method; use `graceful`, `reset` or `cycle`.\nUsage: `/bytemark reboot &lt;server&gt; [graceful|reset|cycle]`"},
		{name: "bad ticket", in: "cancel a/b", wantErr: "isn't a ticket ID"},
		{name: "bad group", in: "list a.b.c", wantErr: "it has too many parts"},
		{name: "approvals extra", in: "approvals now", wantErr: "=Too many arguments: `approvals` takes nothing more, and `now` is extra.\nUsage: `/bytemark approvals`"},
		{name: "purge two", in: "purge a b", wantErr: "=Too many arguments: `purge` takes a server name, and `b` is extra.\nUsage: `/bytemark purge &lt;server&gt;`"},
		{name: "disc add extra", in: "disc add web1 data 1G ssd now", wantErr: "takes a server name, a disc label and a size, and optionally a storage grade, and `now` is extra"},
		{name: "help unknown", in: "help restrat", wantErr: "I have no help for `restrat`. Did you mean `help restart`?"},
		{name: "newline", in: "show web1\npurge web1", wantErr: "=Put the whole command on one line."},
		{name: "control", in: "show web1\x1b[31m", wantErr: "=That has an invisible or control character (U+001B); type the command again without it."},
		{name: "zero width", in: "show web\u200b1", wantErr: "(U+200B)"},
		{name: "too long", in: "show " + strings.Repeat("a", 600), wantErr: "=That's too long for a command (605 characters; the most is 500)."},
		{name: "slack mention", in: "show <!channel>", wantErr: "`&lt;!channel&gt;` isn't a server name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("Parse(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
				}
				return
			}
			var u *UsageError
			if !errors.As(err, &u) {
				t.Fatalf("Parse(%q) = %#v, %v; want a *UsageError", tt.in, got, err)
			}
			if got != nil {
				t.Errorf("Parse(%q) = %#v with an error; want nil", tt.in, got)
			}
			if exact, ok := strings.CutPrefix(tt.wantErr, "="); ok {
				if u.Msg != exact {
					t.Errorf("Parse(%q) error = %q; want %q", tt.in, u.Msg, exact)
				}
			} else if !strings.Contains(u.Msg, tt.wantErr) {
				t.Errorf("Parse(%q) error = %q; want it to contain %q", tt.in, u.Msg, tt.wantErr)
			}
		})
	}
}

// TestParseHostile feeds input that must be refused with a usage message
// a person can read: no Go error text, no panic, nothing echoed unsafely.
func TestParseHostile(t *testing.T) {
	inputs := []string{
		"reboot ../x", "reboot a b", "purge a b", "delete *", "delete web1;rm -rf /", "show $(id)", "show web1|x",
		"show web1\nshow web2", "show\rweb1", "show web1\x00", "restart \u202eweb1", "show wéb1", "show 网站",
		"show 🔥", "show web1.default.acme.uk0.bigv.io/../x", "show .", "show ..", "show web1.", "show .web1",
		"disc add web1 ../../etc 1G", "disc add web1 data -1G", "disc add web1 data 0", "disc add web1 data 1e9G",
		"disc add web1 data 99999999999999999999G", "disc add web1 data 1..5G", "disc add web1 data 1.5.5G",
		"disc add web1 data NaNG", "disc add web1 data 0x10G", "disc purge web1 *", "cancel ../../x", "cancel " + strings.Repeat("x", 65),
		"list ../..", "audit ;", "help ../x", "show `rm`", "show <@U123|x>", "show &amp;",
		strings.Repeat("A", 2048), strings.Repeat("restart web1 ", 40), "show " + strings.Repeat("a.", 130) + "a",
		"\xff\xfe", "show web1\xff",
		"resize web1", "resize web1 cores -1", "resize web1 cores 1e3", "resize web1 memory 0", "resize web1 cores 99999999999999999999",
		"rename web1 ../x", "rename web1 <!here>", "move web1 ../..", "move web1 <@U1>", "create *", "create new1 disc", "create new1 disc 1G:<x>",
		"create new1 image", "create new1 image `x`", "create new1 cores", "reimage web1 ../../x", "reimage web1 <!channel>", "rescue *", "images x",
	}
	for _, in := range inputs {
		got, err := Parse(in)
		var u *UsageError
		if !errors.As(err, &u) {
			t.Errorf("Parse(%q) = %#v, %v; want a *UsageError", in, got, err)
			continue
		}
		if got != nil {
			t.Errorf("Parse(%q) = %#v with an error; want nil", in, got)
		}
		for _, bad := range []string{"bytemark:", "strconv", "invalid syntax", "panic", "<", ">", "\n\n", "%!"} {
			if strings.Contains(u.Msg, bad) {
				t.Errorf("Parse(%q) error = %q; it contains %q", in, u.Msg, bad)
			}
		}
		if len(u.Msg) > 600 {
			t.Errorf("Parse(%q) error is %d bytes long", in, len(u.Msg))
		}
	}
}

// allActions has one valid value of every action type, as Parse returns
// them.
var allActions = []Action{
	Help{}, Help{Topic: "restart"}, Help{Topic: "disc"}, Help{Topic: "disc resize"},
	List{}, List{Group: "staging"}, List{Group: "staging.acme"},
	Show{Target: "web1"}, Start{Target: "web1.default"}, Stop{Target: "web1.default.acme"},
	Restart{Target: "web1"}, Reset{Target: "web1"}, Shutdown{Target: "web1"},
	Reboot{Target: "web1", Method: RebootGraceful}, Reboot{Target: "db1.staging.acme", Method: RebootReset}, Reboot{Target: "web1", Method: RebootCycle},
	Delete{Target: "web1"}, Undelete{Target: "web1"}, Purge{Target: "web1"}, Discs{Target: "web1"},
	DiscAdd{Target: "web1", Label: "data", SizeMiB: 25600, Grade: "sata"},
	DiscAdd{Target: "web1", Label: "Backups_1", SizeMiB: 1536, Grade: "archive"},
	DiscAdd{Target: "web1", Label: "fast", SizeMiB: 2 << 20, Grade: "ssd"},
	DiscResize{Target: "web1", Label: "data", SizeMiB: 1025},
	DiscResize{Target: "web1", Label: "vda", SizeMiB: 1 << 20},
	DiscPurge{Target: "web1", Label: "data"},
	Approvals{}, Cancel{Ticket: "T-8k2_M4"}, Audit{}, Audit{Target: "web1.default.acme"},
	Resize{Target: "web1", Cores: 4}, Resize{Target: "web1.default.acme", MemoryMiB: 512},
	Resize{Target: "web1", Cores: 2, MemoryMiB: 8192, Restart: true},
	Rename{Target: "web1", NewName: "www1"}, Rename{Target: "web1.default.acme", NewName: "web-01"},
	Move{Target: "web1", Group: "staging"}, Move{Target: "web1.default.acme", Group: "staging.acme"},
	Create{Target: "new1", Cores: 1, MemoryMiB: 1024, Discs: [8]NewDisc{{25600, "sata"}}, Distribution: "symbiosis"},
	Create{Target: "new1.staging.acme", Cores: 4, MemoryMiB: 512, Discs: [8]NewDisc{{51200, "ssd"}, {1 << 20, "archive"}}, Stopped: true},
	Create{Target: "new-2.staging", Cores: 2, MemoryMiB: 4096, Discs: [8]NewDisc{{1536, "sata"}}, Distribution: "bookworm", Stopped: true},
	Reimage{Target: "web1", Distribution: "bookworm"}, Reimage{Target: "db1.default.acme", Distribution: "ubuntu-24.04"},
	Rescue{Target: "web1"}, Images{},
	// Targets of many servers (targets.go).
	Many{Action: Restart{}, Target: Target{Group: "staging"}}, Many{Action: Start{}, Target: Target{Glob: "web*"}},
	Many{Action: Stop{}, Target: Target{Glob: "web[12]", Group: "staging.acme"}}, Many{Action: Shutdown{}, Target: Target{Group: "default.acme"}},
	Many{Action: Reset{}, Target: Target{Glob: "db?"}}, Many{Action: Reboot{Method: RebootCycle}, Target: Target{Glob: "*", Group: "staging"}},
}

func TestRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range allActions {
		seen[a.Name()] = true
		if err := Validate(a); err != nil {
			t.Errorf("Validate(%#v) = %v; want nil", a, err)
		}
		got, err := Parse(a.String())
		if err != nil || got != a {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", a.String(), got, err, a)
		}
		if got != nil && got.String() != a.String() {
			t.Errorf("Parse(%q).String() = %q; want it unchanged", a.String(), got.String())
		}
	}
	for _, c := range table {
		if !seen[c.name] {
			t.Errorf("no round trip test of %q", c.name)
		}
	}
}

// TestTable checks the table that parses and documents the language:
// every example parses to an action of that command, and help shows it.
func TestTable(t *testing.T) {
	help := HelpText("")
	if strings.ContainsAny(help+HelpText("disc"), "<>") {
		t.Errorf("HelpText has < or > unescaped for Slack")
	}
	for _, c := range table {
		if len(c.examples) == 0 {
			t.Errorf("%q has no examples", c.name)
		}
		for _, e := range c.examples {
			a, err := Parse(e)
			if err != nil {
				t.Errorf("Parse(%q) (an example of %q) = %v", e, c.name, err)
				continue
			}
			if a.Name() != c.name {
				t.Errorf("Parse(%q).Name() = %q; want %q", e, a.Name(), c.name)
			}
			if !strings.Contains(HelpText(c.name), "`/bytemark "+e+"`") {
				t.Errorf("HelpText(%q) doesn't show the example %q", c.name, e)
			}
		}
		if h := HelpText(c.name); strings.ContainsAny(h, "<>") {
			t.Errorf("HelpText(%q) = %q; want < and > escaped for Slack", c.name, h)
		}
		if !strings.Contains(help, "`"+c.usage()+"`") {
			t.Errorf("HelpText(\"\") doesn't show %q", c.usage())
		}
		if a, err := Parse(c.examples[0]); err == nil {
			if _, runnable := a.(Runnable); runnable != (c.kind != local) {
				t.Errorf("%q: runnable = %v, but its kind is %v", c.name, runnable, c.kind)
			}
		}
	}
}

func TestHelpText(t *testing.T) {
	tests := []struct {
		topic string
		want  []string
		not   []string
	}{
		{"", []string{"*Bytemark commands*", "`/bytemark restart &lt;server&gt;`", "`/bytemark disc add &lt;server&gt; &lt;label&gt; &lt;size&gt; [sata|archive|ssd]`", "Purges and reimages always need approval"}, nil},
		{"disc", []string{"*Disc commands*", "disc add", "disc resize", "disc purge"}, []string{"restart"}},
		{"RESTART", []string{"`/bytemark restart &lt;server&gt;`\nShut a server down cleanly", "For example: `/bytemark restart web1`"}, []string{"purge"}},
		{"disc  add", []string{"a bare number is GiB", "can't be device names"}, nil},
		{"nonsense", []string{"*Bytemark commands*"}, nil},
	}
	for _, tt := range tests {
		got := HelpText(tt.topic)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("HelpText(%q) = %q; want it to contain %q", tt.topic, got, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(got, w) {
				t.Errorf("HelpText(%q) = %q; want it not to contain %q", tt.topic, got, w)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		a       Action
		wantErr string
	}{
		{Show{Target: "web1"}, ""},
		{Show{}, "A server name is missing."},
		{Show{Target: "WEB1"}, "Write the server name `WEB1` as `web1`."},
		{Show{Target: "web1.default.acme.uk0.bigv.io"}, ""},
		{Show{Target: "web1.default.acme.UK0.bigv.io"}, "as `web1.default.acme.uk0.bigv.io`"},
		{List{Group: "Staging"}, "Write the group `Staging` as `staging`."},
		{Reboot{Target: "web1"}, "`` isn't a reboot method"},
		{DiscAdd{Target: "web1", Label: "data", SizeMiB: 1024}, "`` isn't a storage grade"},
		{DiscAdd{Target: "web1", Label: "vdc", SizeMiB: 1024, Grade: "sata"}, "looks like a Unix device name"},
		{DiscResize{Target: "web1", Label: "data", SizeMiB: 1023}, "`1023M` is smaller than the smallest disc, 1 GiB."},
		{DiscResize{Target: "web1", Label: "data", SizeMiB: 2<<20 + 1}, "`2097153M` is bigger than the largest disc, 2 TiB."},
		{Cancel{}, "isn't a ticket ID"},
		{Help{Topic: "nope"}, "I have no help for `nope`."},
		{nil, "That command isn't valid."},
	}
	for _, tt := range tests {
		err := Validate(tt.a)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("Validate(%#v) = %v; want nil", tt.a, err)
			}
			continue
		}
		var u *UsageError
		if !errors.As(err, &u) || !strings.Contains(u.Msg, tt.wantErr) {
			t.Errorf("Validate(%#v) = %v; want a *UsageError containing %q", tt.a, err, tt.wantErr)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{"25G", 25600, ""}, {"25g", 25600, ""}, {"25GB", 25600, ""}, {"25GiB", 25600, ""}, {"25", 25600, ""},
		{"512M", 512, ""}, {"512MiB", 512, ""}, {"512mb", 512, ""}, {"1T", 1 << 20, ""}, {"1TiB", 1 << 20, ""},
		{"1.5G", 1536, ""}, {"0.5T", 512 << 10, ""}, {"007G", 7168, ""}, {"0", 0, ""}, {"1.000G", 1024, ""},
		{"1.1G", 0, "isn't a whole number of MiB"}, {"1.5M", 0, "whole number"},
		{"", 0, "isn't a size"}, {"G", 0, "isn't a size"}, {"10Q", 0, "isn't a size"}, {"-1G", 0, "isn't a size"},
		{"1.G", 0, "isn't a size"}, {".5G", 0, "isn't a size"}, {"1 G", 0, "isn't a size"}, {"1e3", 0, "isn't a size"},
		{"1234567890G", 0, "far bigger"}, {"1.1234567G", 0, "far bigger"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			continue
		}
		var u *UsageError
		if !errors.As(err, &u) || !strings.Contains(u.Msg, tt.wantErr) {
			t.Errorf("ParseSize(%q) = %d, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
	for _, n := range []int{1, 512, 1023, 1024, 1536, 25600, 1 << 20, 2 << 20, 3<<20 + 1024} {
		s := FormatSize(n)
		if got, err := ParseSize(s); err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d) = %q) = %d, %v; want %d", n, s, got, err, n)
		}
	}
	for n, want := range map[int]string{25600: "25G", 1536: "1536M", 2 << 20: "2T", 0: "0M"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q; want %q", n, got, want)
		}
	}
}

func TestPolicy(t *testing.T) {
	tests := []struct {
		csv     string
		wantErr string
		need    []Action
		noNeed  []Action
	}{
		{csv: "delete", need: []Action{Delete{Target: "web1"}, Purge{Target: "web1"}, DiscPurge{Target: "web1", Label: "data"}},
			noNeed: []Action{Stop{Target: "web1"}, Show{Target: "web1"}, Reboot{Target: "web1", Method: "reset"}}},
		{csv: "", need: []Action{Purge{Target: "web1"}, DiscPurge{Target: "web1", Label: "data"}}, noNeed: []Action{Delete{Target: "web1"}}},
		{csv: "none", need: []Action{Purge{Target: "web1"}}, noNeed: []Action{Delete{Target: "web1"}}},
		{csv: " Delete , STOP,disc  resize,, reboot", need: []Action{Delete{Target: "w"}, Stop{Target: "w"}, DiscResize{Target: "w", Label: "d", SizeMiB: 2048}, Reboot{Target: "w", Method: "cycle"}},
			noNeed: []Action{Start{Target: "w"}, DiscAdd{Target: "w", Label: "d", SizeMiB: 2048, Grade: "sata"}}},
		{csv: "purge,disc purge", need: []Action{Purge{Target: "w"}}},
		{csv: "delte", wantErr: `commands: unknown action "delte" (did you mean "delete"?); use actions that change servers: start, stop, restart, reset, shutdown, reboot, delete, undelete, purge, disc add, disc resize, disc purge`},
		{csv: "delete,show", wantErr: `commands: "show" never changes a server, so it can't need approval`},
		{csv: "help", wantErr: "never changes a server"},
		{csv: "disc", wantErr: `unknown action "disc"`},
	}
	for _, tt := range tests {
		p, err := ParsePolicy(tt.csv)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePolicy(%q) = %v, %v; want error %q", tt.csv, p, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePolicy(%q) = %v", tt.csv, err)
			continue
		}
		for _, a := range tt.need {
			if !p.NeedsApproval(a) {
				t.Errorf("ParsePolicy(%q).NeedsApproval(%q) = false; want true", tt.csv, a)
			}
		}
		for _, a := range tt.noNeed {
			if p.NeedsApproval(a) {
				t.Errorf("ParsePolicy(%q).NeedsApproval(%q) = true; want false", tt.csv, a)
			}
		}
	}
	if got, want := (Policy{}).NeedsApproval(Purge{Target: "web1"}), true; got != want {
		t.Errorf("Policy{}.NeedsApproval(purge) = %v; want %v", got, want)
	}
	p, _ := ParsePolicy("stop,delete")
	if got, want := p.String(), "delete,stop"; got != want {
		t.Errorf("Policy.String() = %q; want %q", got, want)
	}
}

func TestDestructive(t *testing.T) {
	for _, a := range allActions {
		want := a.Name() == "purge" || a.Name() == "disc purge" || a.Name() == "reimage"
		if got := a.Destructive(); got != want {
			t.Errorf("%q.Destructive() = %v; want %v", a, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, a := range allActions {
		f.Add(a.String())
	}
	for _, c := range table {
		f.Add(c.examples[0])
	}
	for _, s := range []string{"", "reboot ../x", "disc add web1 vda 1.5G", "show web1.default.acme.uk0.bigv.io", "RESTART Web1", "disc add web1 d 0.001T",
		"purge web1.default.acme.uk1.bigv.io", "show web1.default.acme.uk0.bigv.io.evil.com", "restart 1001.11.1",
		"restart group:staging", "reboot web* cycle", "stop WEB[1-3].Staging.acme", "start group:", "delete group:x", "purge web*",
		"reset web*.st*", "shutdown [", "reboot group:a.b.c", "start *", "restart web[!2]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := Parse(in)
		if err != nil {
			var u *UsageError
			if !errors.As(err, &u) || u.Msg == "" {
				t.Fatalf("Parse(%q) error = %#v; want a *UsageError with a message", in, err)
			}
			if a != nil {
				t.Fatalf("Parse(%q) = %#v with an error", in, a)
			}
			return
		}
		s := a.String()
		b, err := Parse(s)
		if err != nil || b != a {
			t.Fatalf("Parse(%q) = %#v; Parse(%q) = %#v, %v; want the same", in, a, s, b, err)
		}
		if b.String() != s {
			t.Fatalf("String() not stable: %q then %q", s, b.String())
		}
		if err := Validate(a); err != nil {
			t.Fatalf("Validate(Parse(%q)) = %v", in, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{"show web1.default.acme", "disc add web1 data 25G archive"} {
		b.Run(strings.Fields(in)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWithServer: every action with a target takes another, and keeps the
// rest; the result is valid and round-trips.
func TestWithServer(t *testing.T) {
	for _, a := range allActions {
		b := WithServer(a, "web9.default.acme")
		if a.Server() == "" {
			if b != a {
				t.Errorf("WithServer(%#v) = %#v; want it unchanged", a, b)
			}
			continue
		}
		if b.Server() != "web9.default.acme" || b.Name() != a.Name() {
			t.Errorf("WithServer(%#v) = %#v", a, b)
		}
		if c, err := Parse(b.String()); err != nil || c != b {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", b.String(), c, err, b)
		}
		if WithServer(b, a.Server()) != a {
			t.Errorf("WithServer back = %#v; want %#v", WithServer(b, a.Server()), a)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for in, want := range map[int]string{512: "512 MiB", 1024: "1 GiB", 25600: "25 GiB", 1536: "1.5 GiB", 1 << 20: "1 TiB"} {
		if got := HumanSize(in); got != want {
			t.Errorf("HumanSize(%d) = %q; want %q", in, got, want)
		}
	}
}
