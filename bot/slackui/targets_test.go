package slackui

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/approvals"
)

// TestLines: a report of many servers keeps within Slack's limits (3000
// characters a section, 50 blocks) however many lines it has.
func TestLines(t *testing.T) {
	var lines []string
	for i := range 400 {
		lines = append(lines, fmt.Sprintf(":white_check_mark: `web%d.default.acme`: %s", i, strings.Repeat("x", 100)))
	}
	m := Lines("head", lines)
	if m.Text != "head" || len(m.Blocks) > 50 {
		t.Fatalf("Lines: text %q, %d blocks", m.Text, len(m.Blocks))
	}
	for _, b := range m.Blocks {
		if s := b.(*slack.SectionBlock).Text.Text; len(s) > 3000 {
			t.Errorf("a section of %d characters", len(s))
		}
	}
	if few := Lines("head", lines[:3]); len(few.Blocks) != 2 || !strings.Contains(few.Blocks[1].(*slack.SectionBlock).Text.Text, "web2.default.acme") {
		t.Errorf("Lines of 3 = %+v", few.Blocks)
	}
}

// TestCardOfMany: a card about many servers lists every one of them, and
// those skipped, instead of one server's discs.
func TestCardOfMany(t *testing.T) {
	tk := approvals.Ticket{ID: "T1", Command: "restart web*", RequestedBy: "U1", Channel: "C1", Required: 1, State: approvals.StatePending}
	m := Card(tk, Subject{Name: "web* in default.acme (2 servers)", Power: "2 on, 0 off",
		Servers: []string{"web1.default.acme", "web2.default.acme"}, Skipped: []string{"web3.default.acme (deleted)"}}, "", time.Now(), "")
	b, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*Servers (2)*", "• `web1.default.acme`", "• `web2.default.acme`", "~`web3.default.acme (deleted)`~ skipped", "2 on, 0 off"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("card lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "no discs") {
		t.Errorf("card of many servers speaks of discs:\n%s", b)
	}
}
