package reliability

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
	"github.com/bytebot/bytebot/internal/bottest"
)

// count counts the fake's requests with method whose path ends with suffix,
// and how many of them the fake acted on (2xx, not injected).
func count(f *bytemarktest.Server, method, suffix string) (all, acted int) {
	for _, r := range f.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			all++
			if !r.Injected && r.Status >= 200 && r.Status < 300 {
				acted++
			}
		}
	}
	return all, acted
}

// Scenario 4: the Bytemark API answers 500 or 503, times out, or expires
// the session mid-run. Reads are retried within bounds; writes are never
// blindly repeated; the session is re-established; the person gets a clear
// message instead of silence.
func TestBytemarkFaults(t *testing.T) {
	t.Parallel()

	t.Run("read 503 twice then OK: retried, result posted", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true})
		ip.fake.FailNext("GET", "/virtual_machines/web1", http.StatusServiceUnavailable, 2)
		ip.slash(bottest.UserAsker, bottest.ChanOps, "show web1")
		ip.Slack.WaitResponse(t, "", "web1.default.acme is on") // a read: answered to the asker alone
		// The first read identifies the server (2 refused, 1 retried); the
		// second is show's own.
		if all, _ := count(ip.fake.Server, "GET", "/virtual_machines/web1"); all != 4 {
			t.Errorf("GET web1 = %d; want 4 (2 refused, 1 retried, then show's read)", all)
		}
	})

	t.Run("read 503 throughout: bounded retries, clear failure", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true})
		ip.fake.FailNext("GET", "/virtual_machines/web1", http.StatusServiceUnavailable, 100)
		ip.slash(bottest.UserAsker, bottest.ChanOps, "show web1")
		m := ip.Slack.WaitResponse(t, "", "show web1", "failed")
		if all, _ := count(ip.fake.Server, "GET", "/virtual_machines/web1"); all != 3 {
			t.Errorf("GET web1 = %d; want 3 (bounded retries)", all)
		}
		if !strings.Contains(m.Content(), "Bytemark API failed (HTTP 503)") {
			t.Errorf("message = %q; want it to say the Bytemark API failed with 503", m.Form.Get("text"))
		}
	})

	t.Run("read 500: clear failure", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true})
		ip.fake.FailNext("GET", "/virtual_machines/web1", http.StatusInternalServerError, 100)
		ip.slash(bottest.UserAsker, bottest.ChanOps, "show web1")
		m := ip.Slack.WaitResponse(t, "", "show web1", "failed")
		if all, _ := count(ip.fake.Server, "GET", "/virtual_machines/web1"); all != 1 {
			t.Errorf("GET web1 = %d; want exactly 1 (a 500 is not retried)", all)
		}
		if !strings.Contains(m.Content(), "Bytemark API failed (HTTP 500)") {
			t.Errorf("message = %q; want it to say the Bytemark API failed with 500", m.Form.Get("text"))
		}
	})

	t.Run("read times out: bounded retries, clear failure", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true, timeout: 300 * time.Millisecond})
		ip.fake.holdAnswers(func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/web1")
		})
		start := time.Now()
		ip.slash(bottest.UserAsker, bottest.ChanOps, "show web1")
		m := ip.Slack.WaitResponse(t, "", "show web1")
		if all, _ := count(ip.fake.Server, "GET", "/virtual_machines/web1"); all != 3 {
			t.Errorf("GET web1 = %d; want 3", all)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("the failure took %s to report", took)
		}
		if !strings.Contains(m.Content(), ":x:") {
			t.Errorf("message = %q; want a failure", m.Form.Get("text"))
		}
	})

	t.Run("write 503: not repeated, clear failure", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true})
		ip.fake.FailNext("POST", "/virtual_machines/web1/signal", http.StatusServiceUnavailable, 100)
		ip.slash(bottest.UserAsker, bottest.ChanOps, "reset web1")
		m := ip.Slack.WaitPost(t, "reset web1", "failed")
		if all, _ := count(ip.fake.Server, "POST", "/web1/signal"); all != 1 {
			t.Errorf("POST signal = %d; want exactly 1 (a write is not repeated)", all)
		}
		if !strings.Contains(m.Content(), "HTTP 503") {
			t.Errorf("message = %q; want it to name the 503", m.Form.Get("text"))
		}
	})

	t.Run("write times out after acting: not repeated, clear failure", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true, timeout: 500 * time.Millisecond})
		ip.fake.holdAnswers(func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/signal")
		})
		ip.slash(bottest.UserAsker, bottest.ChanOps, "reset web1")
		m := ip.Slack.WaitPost(t, "reset web1")
		if all, _ := count(ip.fake.Server, "POST", "/web1/signal"); all != 1 {
			t.Errorf("POST signal = %d; want exactly 1", all)
		}
		if !strings.Contains(m.Content(), ":x:") {
			t.Errorf("message = %q; want a failure", m.Form.Get("text"))
		}
	})

	t.Run("approved purge answered 500: not repeated, reported on the card", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true})
		ip.fake.FailNext("DELETE", "/virtual_machines/1002", http.StatusInternalServerError, 100) // purged by its ID
		ip.slash(bottest.UserAsker, bottest.ChanOps, "purge web2")
		c := ip.Slack.WaitCard(t, 1)
		if code := ip.click(bottest.UserAppr1, bottest.ChanOps, c, "approve"); code != http.StatusOK {
			t.Fatalf("approve = %d", code)
		}
		m := ip.Slack.WaitPost(t, "purge web2", "failed")
		if m.Form.Get("thread_ts") != c.TS {
			t.Errorf("failure posted outside the card's thread: %q", m.Form.Get("thread_ts"))
		}
		// The job's record: finished as failed (acknowledged, so never
		// taken again).
		waitFor(t, 10*time.Second, "the purge job's failure in the audit log", func() bool {
			log, _ := ip.Store.AuditLog(t.Context(), "web2", 50)
			for _, e := range log {
				if e.Ticket == c.Ticket && strings.HasPrefix(e.Outcome, "failed") {
					return true
				}
			}
			return false
		}, ip.dump)
		if n := ip.Purges("web2"); n != 1 {
			t.Errorf("purge calls = %d; want exactly 1", n)
		}
		if !strings.Contains(m.Content(), "HTTP 500") {
			t.Errorf("message = %q; want it to name the 500", m.Form.Get("text"))
		}
	})

	t.Run("session expires mid-run: re-established, write done once", func(t *testing.T) {
		t.Parallel()
		ip := newInproc(t, inprocOpts{executor: true, client: func(o *bytemark.Options) {
			o.APIKey, o.Username, o.Password = "", bytemarktest.Username, bytemarktest.Password
		}})
		ip.slash(bottest.UserAsker, bottest.ChanOps, "show web1")
		ip.Slack.WaitResponse(t, "", "web1.default.acme is on") // a read: answered to the asker alone
		ip.fake.ExpireSessions()
		ip.slash(bottest.UserAsker, bottest.ChanOps, "reset web1")
		ip.Slack.WaitPost(t, "web1.default.acme reset")
		if n := ip.fake.Calls("POST", "/session"); n != 2 {
			t.Errorf("logins = %d; want 2 (the expired session was replaced once)", n)
		}
		all, acted := count(ip.fake.Server, "POST", "/web1/signal")
		if acted != 1 || all > 2 {
			t.Errorf("POST signal = %d, acted on %d; want acted on exactly once (a 401 refusal may be retried once)", all, acted)
		}
		if ip.fake.Sessions() < 1 {
			t.Error("no live session after the run")
		}
	})
}
