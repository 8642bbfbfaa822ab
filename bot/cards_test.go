package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/internal/slacktest"
)

func testServer() *bytemark.Server {
	return &bytemark.Server{
		ID: 42, Name: "web1", Hostname: "web1.default.acme.uk0.bigv.io", Cores: 2, Memory: 4096, PowerOn: true,
		Discs: []bytemark.Disc{
			{ID: 7, Label: "root", Size: 25600, StorageGrade: "sata"},
			{ID: 8, Label: "data", Size: 102400, StorageGrade: "archive"},
		},
		NetworkInterfaces: []bytemark.NetworkInterface{{IPs: []string{"2001:db8::1", "192.0.2.10"}}},
	}
}

func TestSnapshot(t *testing.T) {
	srv := testServer()
	snap, err := bot.TakeSnapshot("web1", srv, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bot.DiscList(snap.Discs), "data 100 GiB archive, root 25 GiB sata"; got != want {
		t.Errorf("discs = %q; want %q (sorted)", got, want)
	}
	again, _ := bot.TakeSnapshot("web1", srv, "")
	if snap.String() != again.String() {
		t.Errorf("snapshot is not deterministic")
	}
	srv.PowerOn = false
	off, _ := bot.TakeSnapshot("web1", srv, "")
	if off.String() != snap.String() {
		t.Errorf("power state changed the snapshot")
	}
	// A disc purged and added again, same label, size and grade, is not
	// the disc the approvers saw.
	srv.Discs[1].ID = 9
	replaced, _ := bot.TakeSnapshot("web1", srv, "data")
	was, _ := bot.TakeSnapshot("web1", testServer(), "data")
	if replaced.String() == was.String() {
		t.Errorf("a replaced disc did not change the disc snapshot")
	}
	if d := was.Diff(replaced); !strings.Contains(d, "replaced") {
		t.Errorf("diff = %q; want it to say the disc was replaced", d)
	}
	srv.Discs[1].ID = 8
	srv.Discs[0].Size = 51200
	grown, _ := bot.TakeSnapshot("web1", srv, "")
	if grown.String() == snap.String() {
		t.Fatalf("a grown disc did not change the snapshot")
	}
	if d := snap.Diff(grown); !strings.Contains(d, "root 50 GiB sata") {
		t.Errorf("diff = %q; want it to show the new size", d)
	}
	one, err := bot.TakeSnapshot("web1", srv, "data")
	if err != nil || len(one.Discs) != 1 || one.Discs[0].Label != "data" || len(one.IPs) != 0 {
		t.Errorf("disc snapshot = %+v, %v; want only the data disc", one, err)
	}
	if _, err := bot.TakeSnapshot("web1", srv, "nope"); err != bot.ErrNoDisc {
		t.Errorf("snapshot of a missing disc: err = %v; want errNoDisc", err)
	}
	back, ok := bot.ParseSnapshot(snap.String())
	if !ok || back.String() != snap.String() {
		t.Errorf("parseSnapshot(String()) = %+v, %v", back, ok)
	}
}

func TestCard(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	snap, _ := bot.TakeSnapshot("web1", testServer(), "")
	tk := approvals.Ticket{
		ID: "tk1", Command: "purge web1", RequestedBy: "UASKER", Channel: "C1", Snapshot: snap.String(),
		Required: 2, State: approvals.StatePending, Approvers: []string{"UAPPR"},
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute), Meta: map[string]string{bot.MetaPower: "on"},
	}
	m := bot.Card(tk, now, "")
	js, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	s := slacktest.UnescapeJSON(string(js))
	for _, want := range []string{"web1.default.acme.uk0.bigv.io", "root", "25 GiB", "sata", "data", "100 GiB", "archive",
		"192.0.2.10", "2001:db8::1", "<@UASKER>", "1 of 2", "Approved so far by <@UAPPR>", `"action_id":"approve"`,
		`"action_id":"deny"`, `"value":"tk1"`, `"block_id":"approval:C1"`, "in 15 minutes", "*Power*\\non"} {
		if !strings.Contains(s, want) {
			t.Errorf("pending card lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, `"confirm"`) {
		t.Errorf("a purge card's Approve has a confirm dialog; want none (the type-the-name modal asks):\n%s", s)
	}
	if !strings.Contains(m.Text, "purge web1") {
		t.Errorf("fallback text = %q", m.Text)
	}

	tk.State, tk.Approvers = approvals.StateApproved, []string{"UAPPR", "UAPPR2"}
	js, _ = json.Marshal(bot.Card(tk, now, "done").Blocks)
	if s := slacktest.UnescapeJSON(string(js)); strings.Contains(s, `"actions"`) || !strings.Contains(s, "Approved by <@UAPPR>, <@UAPPR2>") || !strings.Contains(s, "done") {
		t.Errorf("approved card:\n%s", s)
	}
	tk.State = approvals.StateExpired
	js, _ = json.Marshal(bot.Card(tk, now.Add(time.Hour), "").Blocks)
	if s := slacktest.UnescapeJSON(string(js)); strings.Contains(s, `"actions"`) || !strings.Contains(s, "Expired") {
		t.Errorf("expired card:\n%s", s)
	}
	tk.State, tk.DeniedBy = approvals.StateDenied, "UNO"
	js, _ = json.Marshal(bot.Card(tk, now, "").Blocks)
	if s := slacktest.UnescapeJSON(string(js)); strings.Contains(s, `"actions"`) || !strings.Contains(s, "Denied by <@UNO>") {
		t.Errorf("denied card:\n%s", s)
	}
}

// TestCardBlockLimits checks that a card for a server with very many
// addresses stays within Block Kit's limits, which Slack enforces by
// refusing the whole message (invalid_blocks): the ticket would have no card.
func TestCardBlockLimits(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := testServer()
	extra := map[string]string{}
	for i := range 400 {
		extra[fmt.Sprintf("2001:db8:ffff:ffff::%x", i)] = ""
	}
	srv.NetworkInterfaces = append(srv.NetworkInterfaces, bytemark.NetworkInterface{ExtraIPs: extra})
	snap, _ := bot.TakeSnapshot("web1", srv, "")
	tk := approvals.Ticket{
		ID: "tk1", Command: "purge web1", RequestedBy: "UASKER", Channel: "C1", Snapshot: snap.String(),
		Required: 1, State: approvals.StatePending, ExpiresAt: now.Add(time.Minute),
		Meta: map[string]string{bot.MetaReason: strings.Repeat("why ", 300)},
	}
	m := bot.Card(tk, now, strings.Repeat("note ", 100))
	js, _ := json.Marshal(m.Blocks)
	var blocks []struct {
		Type   string                  `json:"type"`
		Text   *struct{ Text string }  `json:"text"`
		Fields []struct{ Text string } `json:"fields"`
	}
	if err := json.Unmarshal(js, &blocks); err != nil {
		t.Fatal(err)
	}
	if len(blocks) > 50 {
		t.Errorf("%d blocks; Slack takes at most 50", len(blocks))
	}
	for i, b := range blocks {
		if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > 3000 {
			t.Errorf("block %d (%s) has %d characters of text; Slack takes at most 3000", i, b.Type, utf8.RuneCountInString(b.Text.Text))
		}
		if b.Type == "header" && b.Text != nil && utf8.RuneCountInString(b.Text.Text) > 150 {
			t.Errorf("header has %d characters; Slack takes at most 150", utf8.RuneCountInString(b.Text.Text))
		}
		for _, f := range b.Fields {
			if n := utf8.RuneCountInString(f.Text); n > 2000 {
				t.Errorf("block %d has a field of %d characters; Slack takes at most 2000", i, n)
			}
		}
	}
}
