// Package console runs bytebot as a chat in a terminal, in the spirit of
// Hubot's shell adapter: lines typed are commands and button presses, and
// what the bot says is printed as text. It drives the core (bot.Server)
// through its public methods and runs queued work with its Drain.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
)

// Channel is the one channel of the console.
const Channel = "C0CONSOLE"

// users are the people of the console, by name, with their user IDs.
// "you" types by default; alice and bob are the approvers that main
// configures for the console.
var users = []struct{ Name, ID string }{
	{"you", "U0YOU"},
	{"alice", "U0ALICE"},
	{"bob", "U0BOB"},
	{"carol", "U0CAROL"},
}

// UserID returns the user ID of a console user's name.
func UserID(name string) (string, bool) {
	for _, u := range users {
		if u.Name == name {
			return u.ID, true
		}
	}
	return "", false
}

// userName returns the console name of a user ID.
func userName(id string) string {
	for _, u := range users {
		if u.ID == id {
			return u.Name
		}
	}
	return id
}

// Poster is the console's chat: it renders every message the bot
// posts as text on a terminal, in the order they happen.
type Poster struct {
	mu   sync.Mutex
	out  io.Writer
	ts   int
	seen map[string]string // the last text of each message, by ts
	urls map[string]string // the user of each response URL handed out
}

// NewPoster returns a Poster that writes to out.
func NewPoster(out io.Writer) *Poster {
	return &Poster{out: out, seen: map[string]string{}, urls: map[string]string{}}
}

// ResponseURL hands out the console's stand-in for a command's
// response_url: what is sent through it is printed for user alone.
func (p *Poster) ResponseURL(user string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	url := "console:response/" + strconv.Itoa(len(p.urls)+1)
	p.urls[url] = user
	return url
}

// Respond prints r as its person sees it: in place of the command's
// acknowledgement, which the console does not print (Reply.Interim), or
// after it.
func (p *Poster) Respond(_ context.Context, responseURL string, r bot.Response) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	user, ok := p.urls[responseURL]
	if !ok {
		return fmt.Errorf("console: no response URL %q", responseURL)
	}
	who := "only " + userName(user) + " can see this"
	if r.InChannel {
		who = "for everyone"
	}
	p.print("bytebot ("+who+")", renderText(r.Message))
	return nil
}

// Post prints m as a new message (indented under its thread when it has one).
func (p *Poster) Post(_ context.Context, channel, threadTS string, m slackui.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ts++
	ts := strconv.Itoa(p.ts)
	prefix := "bytebot"
	if threadTS != "" {
		prefix = "  ↳ bytebot (thread " + threadTS + ")"
	}
	p.seen[ts] = renderText(m)
	p.print(prefix+" [message "+ts+"]", p.seen[ts])
	return ts, nil
}

// Update prints the new version of message ts.
func (p *Poster) Update(_ context.Context, channel, ts string, m slackui.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A card changes a line or two at a time: print only what is new, so
	// that the transcript stays readable.
	now := renderText(m)
	old := strings.Split(p.seen[ts], "\n")
	var changed []string
	for _, l := range strings.Split(now, "\n") {
		if !slices.Contains(old, l) {
			changed = append(changed, l)
		}
	}
	p.seen[ts] = now
	if len(changed) > 0 {
		p.print("bytebot [message "+ts+" updated]", strings.Join(changed, "\n"))
	}
	return nil
}

// Ephemeral prints m as seen by user only.
func (p *Poster) Ephemeral(_ context.Context, channel, user string, m slackui.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.print("bytebot (only "+userName(user)+" can see this)", renderText(m))
	return nil
}

// GroupMembers knows no user groups: the console has none.
func (p *Poster) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

func (p *Poster) print(prefix, body string) {
	fmt.Fprintf(p.out, "%s:\n%s\n", prefix, indent(body, "    "))
}

// renderText renders a message readably as plain text: its blocks when it
// has any, else its text.
func renderText(m slackui.Message) string {
	if len(m.Blocks) == 0 {
		return plainText(m.Text)
	}
	var lines []string
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			lines = append(lines, "== "+plainText(b.Text.Text)+" ==")
		case *slack.SectionBlock:
			if b.Text != nil {
				lines = append(lines, plainText(b.Text.Text))
			}
			for _, f := range b.Fields {
				lines = append(lines, plainText(f.Text))
			}
		case *slack.ContextBlock:
			var parts []string
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					parts = append(parts, plainText(t.Text))
				}
			}
			lines = append(lines, strings.Join(parts, " · "))
		case *slack.ActionBlock:
			var buttons []string
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					buttons = append(buttons, fmt.Sprintf("[%s: type `%s %s`]", plainText(btn.Text.Text), buttonWord(btn.ActionID), btn.Value))
				}
			}
			lines = append(lines, strings.Join(buttons, "  "))
		case *slack.DividerBlock:
			lines = append(lines, "----")
		}
	}
	return strings.Join(lines, "\n")
}

var (
	mentionRE = regexp.MustCompile(`<@([A-Z0-9]+)>`)
	dateRE    = regexp.MustCompile(`<!date\^\d+\^[^|]*\|([^>]*)>`)
	linkRE    = regexp.MustCompile(`<([^|>]+)\|([^>]+)>`)
)

// buttonWord is what the console's user types to press a button with
// action ID id (then its value).
func buttonWord(id string) string {
	switch id {
	case slackui.ActionUndelete:
		return "undo delete"
	}
	return id // approve, deny, undo
}

// textReplacer undoes Slack's HTML escapes and draws the emoji the bot uses.
var textReplacer = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&",
	":white_check_mark:", "✅", ":x:", "❌", ":warning:", "⚠️", ":gear:", "⚙️",
	":hourglass_flowing_sand:", "⏳", ":large_green_circle:", "🟢", ":red_circle:", "🔴",
	":white_circle:", "⚪", ":lock:", "🔒", ":no_entry:", "⛔", ":stopwatch:", "⏱️",
	":grey_question:", "❔", ":hourglass:", "⌛", ":wastebasket:", "🗑️",
	":arrows_counterclockwise:", "🔄", ":octagonal_sign:", "🛑", ":raised_hand:", "✋", ":snowflake:", "❄️", ":leftwards_arrow_with_hook:", "↩️",
	":information_source:", "ℹ️")

// plainText turns Slack mrkdwn into terminal text: mentions become @names,
// dates their fallback text, and the HTML escapes are undone.
func plainText(s string) string {
	s = mentionRE.ReplaceAllStringFunc(s, func(m string) string {
		return "@" + userName(mentionRE.FindStringSubmatch(m)[1])
	})
	s = dateRE.ReplaceAllString(s, "$1")
	s = linkRE.ReplaceAllString(s, "$2 ($1)")
	return textReplacer.Replace(s)
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

const consoleHelp = `This is bytebot's console: the real bot, with a fake Bytemark (account acme:
web1, web2, db1 and the deleted old1 in group default; stage1 in group
staging) and an in-memory Redis.
  /bytemark help                 the bot's commands ("/bytemark" is optional:
                                 "list" is "/bytemark list")
  approve [ticket], deny [ticket]  press a card's button (the newest card's
                                 when no ticket is given); approving a purge
                                 or a reimage then asks for the server's name
  as alice: <anything>           act as alice (people: you, alice, bob, carol;
                                 alice and bob may approve)
  undo <ticket>, undo delete <id>  press a staged purge's Undo, or a
                                 delete's Undelete
  alert web1                     fire a test alert for web1, as Alertmanager
                                 would, through the monitoring webhook
  alert resolve web1             resolve it
  quit                           leave (so do Ctrl-D and Ctrl-C)
`

// An Alerter fires a test alert for server through the monitoring
// webhooks, or resolves the last one fired, and says how the webhook
// answered, in a line. main gives the console one that sends an
// Alertmanager delivery through monitor.Hooks's handler (TestAlert).
type Alerter func(ctx context.Context, server string, resolved bool) (string, error)

// Run runs the bot s as a chat in a terminal. It reads lines from in, runs
// each as a command, a button press or a test alert (with alert; nil: no
// `alert` command), runs whatever that queued to completion (s.Drain), and
// prints everything the bot says through s's Poster (a Poster writing to
// out). With echo, each line read is printed after its prompt, so that a
// scripted session reads as a transcript.
//
// s must be built with Config.Inline, so that work runs in this goroutine,
// one line at a time, and a transcript is deterministic; Run must not run
// alongside s.Run.
func Run(ctx context.Context, s *bot.Server, in io.Reader, out io.Writer, echo bool, alert Alerter) error {
	fmt.Fprint(out, consoleHelp)
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		// Reading blocks; it runs apart so that Ctrl-C (ctx) ends the
		// console at once, even while it waits for a line.
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	prompt := true
	var ask *nameAsk // a type-the-name approval waiting for its name
	for {
		if prompt && ask != nil {
			fmt.Fprintf(out, "\n%s, type the server's name> ", ask.name)
		} else if prompt {
			fmt.Fprint(out, "\nyou> ")
		}
		prompt = true
		var line string
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			return nil
		case err := <-readErr:
			fmt.Fprintln(out)
			return err
		case line = <-lines:
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			// Blank lines and comments (in a script) are skipped, under
			// the same prompt.
			prompt = false
			continue
		}
		if echo {
			fmt.Fprintln(out, line)
		}
		if ask != nil {
			// The line is the name asked for: the vote counts only if it
			// is the server's.
			ask.answer(ctx, s, line)
			ask = nil
			s.Drain(ctx)
			continue
		}
		if line == "quit" || line == "exit" {
			return nil
		}
		ask = runLine(ctx, s, out, alert, "you", line)
		s.Drain(ctx)
	}
}

// runLine runs one line typed by the user called name. An approval that
// takes the server's name typed returns what to ask: the next line is the
// name.
func runLine(ctx context.Context, s *bot.Server, out io.Writer, alert Alerter, name, line string) *nameAsk {
	if rest, ok := strings.CutPrefix(line, "as "); ok {
		who, what, found := strings.Cut(rest, ":")
		if !found {
			fmt.Fprintln(out, "console: write `as NAME: what they type`, e.g. `as alice: approve <ticket>`")
			return nil
		}
		who = strings.TrimSpace(who)
		if _, ok := UserID(who); !ok {
			fmt.Fprintf(out, "console: no one is called %q here; the people are you, alice, bob and carol\n", who)
			return nil
		}
		return runLine(ctx, s, out, alert, who, strings.TrimSpace(what))
	}
	user, _ := UserID(name)
	fields := strings.Fields(line)
	switch {
	case len(fields) == 0:
		return nil
	case line == "help" || line == "?":
		fmt.Fprint(out, consoleHelp)
	case fields[0] == "alert" && alert != nil:
		testAlert(ctx, out, alert, fields[1:])
	case fields[0] == "undo" && (len(fields) == 2 && fields[1] != "delete" || len(fields) == 3 && fields[1] == "delete"):
		// A staged purge's Undo (`undo <ticket>`), or a delete's Undelete
		// (`undo delete <id>`).
		reply := s.Undo(ctx, bot.UndoClick{User: user, ID: fields[len(fields)-1], Undelete: len(fields) == 3,
			Channel: Channel, Bound: Channel})
		if reply.Text != "" || len(reply.Blocks) > 0 {
			s.Poster.Ephemeral(ctx, Channel, user, reply.Message)
		}
	case slices.Contains([]string{"approve", "deny"}, fields[0]) && len(fields) <= 2:
		id := ""
		if len(fields) == 2 {
			id = fields[1]
		} else if id = latestPending(ctx, s.Store); id == "" {
			fmt.Fprintln(out, "console: no ticket is waiting for approval")
			return nil
		}
		reply, confirm := s.Press(ctx, bot.Click{User: user, TicketID: id, Approve: fields[0] == "approve"})
		if reply.Text != "" || len(reply.Blocks) > 0 {
			s.Poster.Ephemeral(ctx, Channel, user, reply.Message)
		}
		if confirm != nil {
			// The console's modal: what will be destroyed, and the name
			// asked for at the prompt.
			s.Poster.Ephemeral(ctx, Channel, user, slackui.Text(slackui.ConfirmText(*confirm)))
			return &nameAsk{name: name, user: user, ticket: id}
		}
	default:
		// "/bytemark list", "bytemark list" and "list" are the same.
		text, _ := strings.CutPrefix(line, "/")
		if rest, ok := strings.CutPrefix(text, "bytemark"); ok && (rest == "" || rest[0] == ' ') {
			text = rest
		} else if strings.HasPrefix(line, "/") {
			fmt.Fprintln(out, "console: type `/bytemark help`, `approve <ticket>`, or `help` for the console's own help")
			return nil
		}
		in := bot.Invocation{User: user, Channel: Channel, Text: strings.TrimSpace(text), Origin: "console"}
		if p, ok := s.Poster.(*Poster); ok {
			in.ResponseURL = p.ResponseURL(user)
		}
		reply := s.Command(ctx, in)
		// An interim acknowledgement ("Working on …") is replaced by the
		// answer in Slack; the console shows only what stays.
		if !reply.Interim && (len(reply.Blocks) > 0 || reply.Text != "") {
			if reply.InChannel {
				s.Poster.Post(ctx, Channel, "", reply.Message)
			} else {
				s.Poster.Ephemeral(ctx, Channel, user, reply.Message)
			}
		}
	}
	return nil
}

// A nameAsk is an approval waiting for the server's name at the prompt.
type nameAsk struct {
	name, user, ticket string
}

// answer votes with the name typed: it counts only if it is the server's.
func (a *nameAsk) answer(ctx context.Context, s *bot.Server, typed string) {
	reply := s.Click(ctx, bot.Click{User: a.user, TicketID: a.ticket, Approve: true, Name: typed})
	if reply.Text != "" || len(reply.Blocks) > 0 {
		s.Poster.Ephemeral(ctx, Channel, a.user, reply.Message)
	}
}

// latestPending returns the ID of the newest pending ticket, or "".
func latestPending(ctx context.Context, store *approvals.Store) string {
	ts, err := store.Pending(ctx)
	if err != nil || len(ts) == 0 {
		return ""
	}
	newest := ts[0]
	for _, t := range ts[1:] {
		if t.CreatedAt.After(newest.CreatedAt) {
			newest = t
		}
	}
	return newest.ID
}

// testAlert runs `alert SERVER` or `alert resolve SERVER`.
func testAlert(ctx context.Context, out io.Writer, alert Alerter, args []string) {
	resolved := len(args) == 2 && args[0] == "resolve"
	if resolved {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(out, "console: write `alert SERVER` to fire a test alert, or `alert resolve SERVER` to resolve it")
		return
	}
	said, err := alert(ctx, args[0], resolved)
	if err != nil {
		fmt.Fprintf(out, "console: %v\n", err)
		return
	}
	fmt.Fprintln(out, "console: "+said)
}
