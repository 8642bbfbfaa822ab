package monitor

// The handler: the routes, the credentials (bearer token or Grafana's
// HMAC signature), the body, bounded in size, time and concurrency; then
// the delivery is decided (decide.go) and reported (report.go).

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/commands"
)

// Grafana's HMAC headers, and how far its timestamp may be from now.
const (
	grafanaSignatureHeader = "X-Grafana-Alerting-Signature"
	grafanaTimestampHeader = "X-Grafana-Alerting-Timestamp"
	grafanaMaxSkew         = 5 * time.Minute
)

// hookBudget bounds the work done while the sender waits.
const hookBudget = 5 * time.Second

// Register registers the webhook routes on mux: POST /hooks/alertmanager
// and POST /hooks/grafana.
func (h *Hooks) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathAlertmanager, func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, SourceAlertmanager)
	})
	mux.HandleFunc("POST "+PathGrafana, func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, SourceGrafana)
	})
}

// An Answer is the JSON body of a webhook's answer.
type Answer struct {
	Status    string         `json:"status,omitempty"`
	Error     string         `json:"error,omitempty"`
	Request   string         `json:"request"`
	Alerts    int            `json:"alerts,omitempty"`
	Decisions map[string]int `json:"decisions,omitempty"`
}

func (h *Hooks) serve(w http.ResponseWriter, r *http.Request, source string) {
	reqID := bot.RequestID(r.Context())
	log := h.s.Logger.With("req", reqID, "source", source)
	code, ans := h.handle(w, r, log, source, reqID)
	ans.Request = reqID
	h.s.CountRequest("hooks/"+source, code)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(ans)
}

func fail(code int, msg string) (int, Answer) { return code, Answer{Error: msg} }

// refuse answers a request whose body is not (or not all) read: the
// connection is closed after the answer, so that the server doesn't wait
// for the rest of a body nobody wants.
func refuse(w http.ResponseWriter, code int, msg string) (int, Answer) {
	w.Header().Set("Connection", "close")
	return fail(code, msg)
}

// take takes a place in pool, if there is one free, and returns its release.
func take(pool chan struct{}) (release func(), ok bool) {
	select {
	case pool <- struct{}{}:
		return func() { <-pool }, true
	default:
		return nil, false
	}
}

func (h *Hooks) handle(w http.ResponseWriter, r *http.Request, log *slog.Logger, source, reqID string) (int, Answer) {
	cfg := h.cfg
	hmacOK := source == SourceGrafana && cfg.GrafanaHMACSecret != ""
	if cfg.WebhookToken == "" && !hmacOK {
		log.Warn("refused webhook: webhooks are not configured")
		return refuse(w, http.StatusUnauthorized, "webhooks are not configured on this bot (set WEBHOOK_TOKEN)")
	}
	// The bearer token, or as much of Grafana's signature as can be checked
	// without the body, before anything else.
	bearer := cfg.WebhookToken != "" && bearerOK(r.Header.Get("Authorization"), cfg.WebhookToken)
	var sig hmacHeaders
	if !bearer {
		if !(hmacOK && r.Header.Get(grafanaSignatureHeader) != "") {
			log.Warn("refused webhook: missing or wrong bearer token")
			return refuse(w, http.StatusUnauthorized, "missing or wrong credentials")
		}
		var why string
		if sig, why = h.parseHMACHeaders(r.Header); why != "" {
			if sig.noTimestamp {
				log.Warn("refused webhook: Grafana signature without "+grafanaTimestampHeader+" (set GRAFANA_ALLOW_NO_TIMESTAMP=true to accept it)", "why", why)
			} else {
				log.Warn("refused webhook: bad HMAC headers", "why", why)
			}
			return refuse(w, http.StatusUnauthorized, why)
		}
	}
	if r.ContentLength > cfg.MaxBodyBytes {
		return refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", cfg.MaxBodyBytes))
	}
	busy := func(pool chan struct{}, what string) (int, Answer) {
		log.Warn("refused webhook: too many "+what+" in progress", "max", cap(pool))
		return refuse(w, http.StatusServiceUnavailable, fmt.Sprintf("busy: %d %s are being handled; retry shortly", cap(pool), what))
	}
	if bearer {
		release, ok := take(h.slots)
		if !ok {
			return busy(h.slots, "deliveries")
		}
		defer release()
		body, code, msg := h.readBody(w, r, log, true)
		if code != 0 {
			return refuse(w, code, msg)
		}
		return h.decode(r, log, source, reqID, body)
	}
	// The signature covers the body: read it in a pool of its own, under
	// the body deadline, and count the delivery against MaxInFlight only
	// once it is verified.
	release, ok := take(h.unverified)
	if !ok {
		return busy(h.unverified, "unverified deliveries")
	}
	body, code, msg := h.readBody(w, r, log, false)
	release()
	if code != 0 {
		return refuse(w, code, msg)
	}
	if why := h.checkHMAC(sig, body); why != "" {
		log.Warn("refused webhook: bad HMAC signature", "why", why)
		return fail(http.StatusUnauthorized, why)
	}
	if release, ok = take(h.slots); !ok {
		return busy(h.slots, "deliveries")
	}
	defer release()
	return h.decode(r, log, source, reqID, body)
}

// readBody reads a webhook body of at most MaxBodyBytes within BodyTimeout.
// On failure it returns the answer's code and message.
func (h *Hooks) readBody(w http.ResponseWriter, r *http.Request, log *slog.Logger, verified bool) ([]byte, int, string) {
	cfg := h.cfg
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(cfg.BodyTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		log.Warn("setting the webhook body's read deadline", "err", err)
	}
	// A verified sender's declared length is taken at its word (bounded by
	// MaxBodyBytes, checked before), so that the body is read into one
	// buffer; an unverified one gets a small buffer that grows as its
	// bytes arrive.
	size := min(r.ContentLength, cfg.MaxBodyBytes)
	if !verified || size <= 0 {
		size = min(size, 64<<10)
	}
	body, err := readAll(io.LimitReader(r.Body, cfg.MaxBodyBytes+1), max(size, 512)+1)
	// No deadline while the delivery is decided: a read that fails would
	// cancel the request's context.
	rc.SetReadDeadline(time.Time{})
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		log.Warn("refused webhook: body not received in time", "timeout", cfg.BodyTimeout, "read", len(body))
		return nil, http.StatusRequestTimeout, fmt.Sprintf("body not received within %s", cfg.BodyTimeout)
	case err != nil:
		return nil, http.StatusBadRequest, "couldn't read the body"
	case int64(len(body)) > cfg.MaxBodyBytes:
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", cfg.MaxBodyBytes)
	}
	return body, 0, ""
}

// readAll is io.ReadAll into a buffer of size bytes to begin with.
func readAll(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// decode decodes and decides a verified delivery, holding a delivery slot.
func (h *Hooks) decode(r *http.Request, log *slog.Logger, source, reqID string, body []byte) (int, Answer) {
	cfg := h.cfg
	var d commands.Delivery
	var err error
	if source == SourceGrafana {
		d, err = commands.DecodeGrafana(body, cfg.Label)
	} else {
		d, err = commands.DecodeAlertmanager(body, cfg.Label)
	}
	if err != nil {
		log.Info("malformed webhook payload", "err", err)
		return fail(http.StatusBadRequest, strings.TrimPrefix(err.Error(), "commands: "))
	}
	if d.DroppedLabels > 0 {
		// Kept: the server label and alertname, and others up to the caps.
		log.Warn("webhook labels over the caps dropped", "dropped", d.DroppedLabels,
			"max_per_alert", commands.MaxLabelsPerAlert, "max_per_delivery", commands.MaxLabelsPerDelivery, "max_bytes", commands.MaxLabelBytes)
	}
	if h.s.Config.Channel == "" {
		log.Error("webhook received but SLACK_CHANNEL is not set")
		return fail(http.StatusServiceUnavailable, "SLACK_CHANNEL is not set on this bot")
	}
	ctx, cancel := context.WithTimeout(r.Context(), hookBudget)
	defer cancel()
	dl := &delivery{h: h, d: d, source: source, reqID: reqID, log: log, now: h.s.Now()}
	err = dl.decide(ctx)
	ans := Answer{Alerts: len(d.Alerts) + len(d.Skipped), Decisions: map[string]int{}}
	for _, res := range dl.results {
		ans.Decisions[res.metric()]++
		h.alerts.WithLabelValues(source, res.metric()).Inc()
	}
	for range d.Skipped {
		ans.Decisions[DecSkipped]++
		h.alerts.WithLabelValues(source, DecSkipped).Inc()
	}
	h.s.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 3*time.Minute)
		defer cancel()
		dl.report(ctx)
	})
	log.Info("webhook", "alerts", ans.Alerts, "decisions", ans.Decisions, "err", err)
	if err != nil {
		ans.Error = "the bot's state store (Redis) or the Bytemark API is unavailable; retry later"
		return http.StatusServiceUnavailable, ans
	}
	ans.Status = "accepted"
	return http.StatusOK, ans
}

// bearerOK compares an Authorization header with the token in constant
// time (over hashes, so that the length doesn't leak either).
func bearerOK(header, token string) bool {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	a := sha256.Sum256([]byte(strings.TrimSpace(cred)))
	b := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// hmacHeaders are Grafana's signature headers, checked.
type hmacHeaders struct {
	sig         []byte
	ts          string // "" when allowed without one
	noTimestamp bool   // refused for the want of a timestamp
}

// parseHMACHeaders checks Grafana's signature headers, as far as they can
// be checked without the body: a signature of the right form and a fresh
// timestamp (required unless GrafanaAllowNoTimestamp). It returns why they
// fail, or "".
func (h *Hooks) parseHMACHeaders(hdr http.Header) (hmacHeaders, string) {
	var p hmacHeaders
	sig, err := hex.DecodeString(strings.TrimSpace(hdr.Get(grafanaSignatureHeader)))
	if err != nil || len(sig) != sha256.Size {
		return p, "malformed " + grafanaSignatureHeader
	}
	p.sig = sig
	ts := strings.TrimSpace(hdr.Get(grafanaTimestampHeader))
	if ts == "" {
		if !h.cfg.GrafanaAllowNoTimestamp {
			p.noTimestamp = true
			return p, "missing " + grafanaTimestampHeader + ": a signature without one could be replayed, so it is refused " +
				"(sign with a timestamp, or set GRAFANA_ALLOW_NO_TIMESTAMP=true on the bot)"
		}
		return p, ""
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return p, "malformed " + grafanaTimestampHeader
	}
	skew := h.s.Now().Sub(time.Unix(sec, 0))
	if skew > grafanaMaxSkew || skew < -grafanaMaxSkew {
		return p, "stale " + grafanaTimestampHeader + " (more than 5 minutes from now)"
	}
	p.ts = ts
	return p, ""
}

// checkHMAC verifies Grafana's signature over the timestamp (when there is
// one) and body; it returns why it fails, or "".
func (h *Hooks) checkHMAC(p hmacHeaders, body []byte) string {
	mac := hmac.New(sha256.New, []byte(h.cfg.GrafanaHMACSecret))
	if p.ts != "" {
		mac.Write([]byte(p.ts + ":"))
	}
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), p.sig) {
		return "wrong " + grafanaSignatureHeader
	}
	return ""
}
