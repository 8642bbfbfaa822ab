package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/internal/logtest"
)

// TestConsoleUndelete: a delete's result in the console carries its
// Undelete button as a command to type (`undo delete <id>`); typing it
// undeletes the server, once, and says who did.
func TestConsoleUndelete(t *testing.T) {
	in, feed := io.Pipe()
	out := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"console"}, noEnv, in, out, io.Discard)
	}()
	type_ := func(line string) {
		t.Helper()
		if _, err := io.WriteString(feed, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(what string, re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if m := re.FindStringSubmatch(out.String()); m != nil {
				return m
			}
			time.Sleep(10 * time.Millisecond) // polling the transcript, with a deadline
		}
		t.Fatalf("timed out waiting for %s:\n%s", what, out.String())
		return nil
	}
	type_("delete web1")
	type_("as alice: approve")
	m := wait("the Undelete button", regexp.MustCompile("type `undo delete ([a-z0-9]+)`"))
	type_("undo delete " + m[1])
	wait("the undelete", regexp.MustCompile("Undelete pressed by @you .* `web1.default.acme` is undeleted"))
	type_("undo delete " + m[1])
	wait("the second press's answer", regexp.MustCompile(`(?i)you> undo delete [a-z0-9]+\n[^\n]*\n[^\n]*already`))
	feed.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), ":leftwards_arrow_with_hook:") {
		t.Errorf("an emoji code is shown as text:\n%s", out.String())
	}
}
