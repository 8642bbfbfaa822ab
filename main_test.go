package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/commands"
)

func noEnv(string) (string, bool) { return "", false }

// TestConsoleScript drives `bytebot console` the way a newcomer would, from
// a script: list, purge, a refused self-approval, an approval by a second
// person asked for the server's name (a wrong one counts nothing, then
// the right one), and the list again.
func TestConsoleScript(t *testing.T) {
	script := strings.Join([]string{
		"/bytemark list",
		"/bytemark purge web2",
		"approve",
		"as alice: approve",
		"web1",
		"as alice: approve",
		"web2.default.acme",
		"/bytemark list",
		"/bytemark audit web2",
		"/bytemark restrat web1",
	}, "\n")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"console"}, noEnv, strings.NewReader(script), &out, &errb); err != nil {
		t.Fatalf("console: %v\n%s", err, errb.String())
	}
	transcript := out.String()
	steps := regexp.MustCompile(`\n(you|alice, type the server's name)> `).Split(transcript, -1)
	if got, want := len(steps), 12; got != want { // the banner, ten lines, the end
		t.Fatalf("transcript has %d prompts; want %d:\n%s", got, want, transcript)
	}
	for i, want := range []struct {
		step     int
		contains []string
	}{
		{1, []string{"3 servers", "web1.default.acme", "web2.default.acme", "db1.default.acme"}},
		{2, []string{"Approval needed: purge web2", "root", "25 GiB", "@you", "[Approve: type `approve "}},
		{3, []string{"only you can see this", "can't approve"}},
		{4, []string{"only alice can see this", "can't be undone", "25 GiB", "type the server's name: `web2`"}},
		{5, []string{"only alice can see this", "isn't the name of the server"}},
		{7, []string{"Approved by @alice", "web2.default.acme purged"}},
		{8, []string{"2 servers"}},
		{9, []string{"Audit log", "approve refused", "approved", "done"}},
		{10, []string{"Did you mean `restart`?"}},
	} {
		for _, s := range want.contains {
			if !strings.Contains(steps[want.step], s) {
				t.Errorf("step %d (%q) lacks %q:\n%s", i+1, strings.SplitN(steps[want.step], "\n", 2)[0], s, steps[want.step])
			}
		}
	}
	if strings.Contains(steps[8], "web2.default.acme") {
		t.Errorf("web2 still listed after its purge:\n%s", steps[8])
	}
	for _, i := range []int{3, 4, 5, 6} {
		if strings.Contains(steps[i], "purged") || strings.Contains(steps[i], "Approved by") {
			t.Errorf("step %d approved or ran the purge before the right name:\n%s", i, steps[i])
		}
	}
}

func TestManifestCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"manifest", "--url", "https://bot.example.com"}, noEnv, nil, &out, &out); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `json:"slash_commands"`
		} `json:"features"`
		Settings struct {
			Interactivity struct {
				RequestURL string `json:"request_url"`
			} `json:"interactivity"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("manifest output is not JSON: %v\n%s", err, out.String())
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].URL != "https://bot.example.com/slack/commands" {
		t.Errorf("slash commands = %+v; want /bytemark at https://bot.example.com/slack/commands", m.Features.SlashCommands)
	}
	if got, want := m.Settings.Interactivity.RequestURL, "https://bot.example.com/slack/interactions"; got != want {
		t.Errorf("interactivity URL = %q; want %q", got, want)
	}
	if err := run(context.Background(), []string{"manifest"}, noEnv, nil, &out, &out); err == nil {
		t.Error("manifest without --url succeeded; want an error asking for it")
	}
}

func TestServeRefusesMissingConfiguration(t *testing.T) {
	var errb bytes.Buffer
	err := run(context.Background(), []string{"serve"}, noEnv, nil, &errb, &errb)
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN: missing") {
		t.Fatalf("serve with no environment = %v; want a configuration error naming SLACK_BOT_TOKEN", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serv"}, noEnv, nil, &out, &out); err == nil || !strings.Contains(out.String(), "Usage: bytebot") {
		t.Errorf("run(serv) = %v, output %q; want an error and the usage", err, out.String())
	}
}

// TestBotConfigCarriesEverySetting guards the wiring: a setting read from
// the environment but never handed to the bot would silently do nothing.
func TestBotConfigCarriesEverySetting(t *testing.T) {
	env := validEnv()
	env["WEBHOOK_TOKEN"] = "hook"
	env["SLACK_CHANNEL"] = "C0OPS"
	env["AUTO_REBOOT"] = "on"
	env["REBOOT_METHOD"] = "reset"
	env["REBOOT_ALLOW"] = "default.acme"
	env["ALLOWED_CHANNELS"] = "C0OPS"
	env["SLACK_TEAM_ID"] = "T0ACME"
	cfg, err := loadConfig(context.Background(), lookupMap(env))
	if err != nil {
		t.Fatal(err)
	}
	bc := botConfig(cfg, commands.Policy{})
	r := monitorConfig(cfg)
	if r.WebhookToken != "hook" || r.Mode != "on" || r.Method != "reset" || r.Label != "bytemark_server" ||
		r.Cooldown != cfg.RebootCooldown || r.MaxPerDay != 3 || r.FleetMax != 5 || len(r.Allow) != 1 {
		t.Errorf("monitorConfig(...) = %+v; want the REBOOT_* settings", r)
	}
	if bc.Channel != "C0OPS" || bc.SigningSecret != "sig" || len(bc.Approvers) != 2 || len(bc.AllowedChannels) != 1 || bc.TeamID != "T0ACME" {
		t.Errorf("botConfig(...) = %+v; want the Slack settings", bc)
	}
}

// TestDemoScript runs the demo.txt that README names: every line is a
// command the console understands (comments are skipped), and the tour
// ends with web2 purged by alice's approval.
func TestDemoScript(t *testing.T) {
	script, err := os.ReadFile("demo.txt")
	if err != nil {
		t.Fatal(err)
	}
	var commands int
	for _, l := range strings.Split(string(script), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			commands++
		}
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"console"}, noEnv, bytes.NewReader(script), &out, &errb); err != nil {
		t.Fatalf("console: %v\n%s", err, errb.String())
	}
	transcript := out.String()
	if got, want := strings.Count(transcript, "\nyou> ")+strings.Count(transcript, " type the server's name> "), commands+1; got != want {
		t.Errorf("transcript has %d prompts; want %d (one per command, one at the end):\n%s", got, want, transcript)
	}
	if strings.Contains(transcript, "console: type") {
		t.Errorf("the console didn't understand a line of demo.txt:\n%s", transcript)
	}
	for _, s := range []string{"Approved by @alice", "web2.default.acme purged"} {
		if !strings.Contains(transcript, s) {
			t.Errorf("the demo's transcript lacks %q:\n%s", s, transcript)
		}
	}
	// README shows this transcript: it must be what the console prints.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	shown, ok := readmeTranscript(string(readme))
	if !ok {
		t.Fatal("README.md has no transcript block after <!-- transcript: go run . console < demo.txt -->")
	}
	if got, want := normalizeTranscript(transcript), normalizeTranscript(shown); got != want {
		t.Errorf("README's transcript differs from what `go run . console < demo.txt` prints (IDs and times aside).\n"+
			"First difference at line %d:\n  README:  %q\n  console: %q\nThe console printed:\n%s",
			firstDiff(want, got)+1, line(want, firstDiff(want, got)), line(got, firstDiff(want, got)), transcript)
	}
}

// readmeTranscript returns the code block that follows README's
// transcript marker.
func readmeTranscript(readme string) (string, bool) {
	_, rest, ok := strings.Cut(readme, "<!-- transcript: go run . console < demo.txt -->\n```text\n")
	if !ok {
		return "", false
	}
	block, _, ok := strings.Cut(rest, "\n```\n")
	return block, ok
}

var (
	transcriptID   = regexp.MustCompile("((?:[Tt]icket|approve|deny|cancel|job) `?)[a-z2-7]{10,16}\\b")
	transcriptTime = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}Z| UTC)`)
)

// normalizeTranscript makes two runs' transcripts comparable: ticket and
// job IDs and times differ from run to run, trailing spaces don't show.
func normalizeTranscript(s string) string {
	s = transcriptID.ReplaceAllString(s, "${1}ID")
	s = transcriptTime.ReplaceAllString(s, "TIME")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	return strings.Join(lines, "\n")
}

func firstDiff(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i
		}
	}
	return min(len(al), len(bl))
}

func line(s string, i int) string {
	if ls := strings.Split(s, "\n"); i < len(ls) {
		return ls[i]
	}
	return "(end)"
}

// TestConsoleInterrupt checks that Ctrl-C ends the console at once, even
// while it waits for a line that never comes.
func TestConsoleInterrupt(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	go func() { done <- run(ctx, []string{"console"}, noEnv, pr, &out, &errb) }()
	// A first line proves the console is up and reading.
	if _, err := io.WriteString(pw, "list\n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("console after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the console still runs after Ctrl-C")
	}
}

// TestConsoleWithoutPrefix checks that "/bytemark" is optional.
func TestConsoleWithoutPrefix(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"console"}, noEnv, strings.NewReader("list\nbytemark show web1\n"), &out, &errb); err != nil {
		t.Fatalf("console: %v\n%s", err, errb.String())
	}
	for _, s := range []string{"3 servers", "web1.default.acme is on"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("transcript lacks %q:\n%s", s, out.String())
		}
	}
}
