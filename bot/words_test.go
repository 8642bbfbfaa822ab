package bot_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// logBuffer collects the bot's JSON log lines; safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the log records whose message is msg.
func (b *logBuffer) records(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if json.Unmarshal(sc.Bytes(), &r) == nil && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// find returns the record with message msg whose err holds errText.
func (b *logBuffer) find(msg, errText string) map[string]any {
	for _, r := range b.records(msg) {
		if e, _ := r["err"].(string); strings.Contains(e, errText) {
			return r
		}
	}
	return nil
}

// TestNoOpSaysSoAndSendsNothing: `start` on a running server says it is
// already on, in the channel, and sends nothing to Bytemark.
func TestNoOpSaysSoAndSendsNothing(t *testing.T) {
	h := newHarness(t)
	writes := h.writes()
	h.mustSlash(userAsker, chanOps, "start web1")
	post := h.waitPost("web1.default.acme", "is already on", userAsker)
	if strings.Contains(post.Form.Get("text"), "failed") || strings.Contains(post.Form.Get("text"), ":x:") {
		t.Errorf("no-op answered as a failure: %s", post.Form.Get("text"))
	}
	if got := h.writes(); got != writes {
		t.Errorf("start of a running server made %d writes to Bytemark; want none", got-writes)
	}
}

// TestBytemarkErrorsWordedAndLogged: Bytemark's refusal is said in terms
// of what it means and what to do, with a reference; the API's own text
// goes only to the log, under that reference. A person's mistake (an
// unknown server) logs at INFO; a fault of Bytemark (a 500) at ERROR.
func TestBytemarkErrorsWordedAndLogged(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, withLog(&logs))

	h.fake.FailNext(http.MethodPost, "/accounts/*/signal", http.StatusBadRequest, 1)
	h.mustSlash(userAsker, chanOps, "reset web2")
	post := h.waitPost("reset web2", "Bytemark refused the request", "ref ")
	if text := post.Form.Get("text") + post.BlocksJSON(); strings.Contains(text, "injected fault") {
		t.Errorf("the API's own text reached Slack: %s", text)
	}
	rec := logs.find("running action", "injected fault")
	if rec == nil || rec["req"] == nil || rec["req"] == "" {
		t.Errorf("the API's text is not logged with the request reference: %v\n%s", rec, logs.buf.String())
	} else if ref, _ := rec["req"].(string); !strings.Contains(post.Form.Get("text"), ref) {
		t.Errorf("log ref %q is not the one Slack was given: %s", ref, post.Form.Get("text"))
	}

	_, _, url := h.slashURL(userAsker, chanOps, "show nosuch1")
	h.slack.WaitShown(t, url, "I can't find server `nosuch1` in group `default`") // a read: answered privately
	if rec := logs.find("running action", "nosuch1"); rec == nil || rec["level"] != "INFO" {
		t.Errorf("an unknown server logged as %v; want INFO (a person's mistake)", rec)
	}

	h.fake.FailNext(http.MethodPut, "/accounts/*/web2", http.StatusInternalServerError, 1)
	h.mustSlash(userAsker, chanOps, "stop web2")
	h.waitPost("stop web2", "The Bytemark API failed")
	if rec := logs.find("running action", "500"); rec == nil || rec["level"] != "ERROR" {
		t.Errorf("a Bytemark 500 logged as %v; want ERROR (a fault)", rec)
	}
	for _, r := range logs.records("running action") {
		if r["level"] == "ERROR" && strings.Contains(r["err"].(string), "nosuch1") {
			t.Errorf("a person's mistake logged at ERROR: %v", r)
		}
	}
}
