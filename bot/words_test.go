package bot_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/logtest"
)

// TestNoOpSaysSoAndSendsNothing: `start` on a running server says it is
// already on, in the channel, and sends nothing to Bytemark.
func TestNoOpSaysSoAndSendsNothing(t *testing.T) {
	h := newHarness(t)
	writes := h.Writes()
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "start web1")
	post := h.WaitPost("web1.default.acme", "is already on", bottest.UserAsker)
	if strings.Contains(post.Form.Get("text"), "failed") || strings.Contains(post.Form.Get("text"), ":x:") {
		t.Errorf("no-op answered as a failure: %s", post.Form.Get("text"))
	}
	if got := h.Writes(); got != writes {
		t.Errorf("start of a running server made %d writes to Bytemark; want none", got-writes)
	}
}

// TestBytemarkErrorsWordedAndLogged: Bytemark's refusal is said in terms
// of what it means and what to do, with a reference; the API's own text
// goes only to the log, under that reference. A person's mistake (an
// unknown server) logs at INFO; a fault of Bytemark (a 500) at ERROR.
func TestBytemarkErrorsWordedAndLogged(t *testing.T) {
	var logs logtest.Buffer
	h := newHarness(t, bottest.WithLog(&logs))

	h.Fake.FailNext(http.MethodPost, "/accounts/*/signal", http.StatusBadRequest, 1)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "reset web2")
	post := h.WaitPost("reset web2", "Bytemark refused the request", "ref ")
	if text := post.Form.Get("text") + post.BlocksJSON(); strings.Contains(text, "injected fault") {
		t.Errorf("the API's own text reached Slack: %s", text)
	}
	rec := logs.Find("running action", "injected fault")
	if rec == nil || rec["req"] == nil || rec["req"] == "" {
		t.Errorf("the API's text is not logged with the request reference: %v\n%s", rec, logs.String())
	} else if ref, _ := rec["req"].(string); !strings.Contains(post.Form.Get("text"), ref) {
		t.Errorf("log ref %q is not the one Slack was given: %s", ref, post.Form.Get("text"))
	}

	_, _, url := h.SlashURL(bottest.UserAsker, bottest.ChanOps, "show nosuch1")
	h.Slack.WaitShown(t, url, "I can't find server `nosuch1` in group `default`") // a read: answered privately
	if rec := logs.Find("running action", "nosuch1"); rec == nil || rec["level"] != "INFO" {
		t.Errorf("an unknown server logged as %v; want INFO (a person's mistake)", rec)
	}

	h.Fake.FailNext(http.MethodPut, "/accounts/*/web2", http.StatusInternalServerError, 1)
	h.MustSlash(bottest.UserAsker, bottest.ChanOps, "stop web2")
	h.WaitPost("stop web2", "The Bytemark API failed")
	if rec := logs.Find("running action", "500"); rec == nil || rec["level"] != "ERROR" {
		t.Errorf("a Bytemark 500 logged as %v; want ERROR (a fault)", rec)
	}
	for _, r := range logs.Records("running action") {
		if r["level"] == "ERROR" && strings.Contains(r["err"].(string), "nosuch1") {
			t.Errorf("a person's mistake logged at ERROR: %v", r)
		}
	}
}
