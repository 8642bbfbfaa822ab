package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bytebot/bytebot/commands"
)

// TestAlert sends a test alert for server through the Alertmanager route,
// the whole way a real one goes (credentials, decoding, the guards, the
// report): a firing InstanceDown alert, a new occurrence each time, or,
// with resolved, the resolve of the last one fired for server. It returns
// the webhook's answer. The console's `alert` command uses it.
func (h *Hooks) TestAlert(ctx context.Context, server string, resolved bool) (int, Answer, error) {
	if h.cfg.WebhookToken == "" {
		return 0, Answer{}, errors.New("the webhooks are not configured (WEBHOOK_TOKEN)")
	}
	now := h.s.Now().UTC().Truncate(time.Second)
	h.testMu.Lock()
	start, fired := h.testStarts[server]
	switch {
	case resolved && !fired:
		h.testMu.Unlock()
		return 0, Answer{}, fmt.Errorf("no test alert for %s is firing: `alert %s` fires one", server, server)
	case resolved:
		delete(h.testStarts, server)
	default:
		if !start.Before(now) {
			now = start.Add(time.Second) // a new occurrence, even within a second
		}
		start = now
		h.testStarts[server] = start
	}
	h.testMu.Unlock()
	body := AlertmanagerPayload(h.cfg.Label, server, start, resolved, now)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, PathAlertmanager, bytes.NewReader(body))
	if err != nil {
		return 0, Answer{}, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+h.cfg.WebhookToken)
	mux := http.NewServeMux()
	h.Register(mux)
	w := &answerWriter{header: http.Header{}}
	mux.ServeHTTP(w, r)
	var ans Answer
	if err := json.Unmarshal(w.body.Bytes(), &ans); err != nil {
		return w.code, ans, fmt.Errorf("the webhook's answer is not JSON: %w", err)
	}
	return w.code, ans, nil
}

// answerWriter keeps a webhook's answer.
type answerWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *answerWriter) Header() http.Header { return w.header }

func (w *answerWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *answerWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// AlertmanagerPayload is an Alertmanager webhook delivery (version 4) of
// one InstanceDown alert for server, named by label, started at start:
// firing, or resolved at end (commands' builder, the one the tests use).
func AlertmanagerPayload(label, server string, start time.Time, resolved bool, end time.Time) []byte {
	a := commands.Firing(label, server, start)
	a.Annotations["summary"] = server + " is down (a test alert)"
	if resolved {
		a = a.Resolved(end)
	}
	return commands.Alertmanager(a).JSON()
}
