package bot

// Monitoring webhooks: POST /hooks/alertmanager and POST /hooks/grafana turn
// firing alerts into reboots, through the same approvals store and executor
// as Slack commands.
//
// A delivery is handled in two parts. While the sender waits, each alert is
// decided with a few Redis scripts (run concurrently across alerts) and the
// decision is committed: deduplication claim, hold, cooldown, daily cap,
// fleet brake, and the job or delayed job. Then the answer goes back (2xx,
// or 503 when Redis failed so that Alertmanager retries), and in the
// background one summary message per delivery is posted to the channel,
// the automatic reboots are queued in its thread, and every decision is
// written to the audit log with the summary's ts, which is how a later
// resolve finds the thread to post in.
//
// Flapping protection, in order, for a firing alert:
//
//  1. dedupe: an occurrence (fingerprint and startsAt) is handled once;
//  2. hold (Delay): the rest waits; a resolve inside the hold cancels;
//  3. cooldown per server;
//  4. the allowlist (a server not on it gets an approval card; checked
//     before the counting guards so that it uses none of their slots);
//  5. the daily cap per server, after which an approval card is posted;
//  6. the fleet brake: more than FleetMax servers in FleetWindow (or in one
//     delivery) pause everything, cards included;
//  7. the mode: on queues the reboot, approve posts a card, dry-run says
//     what would have happened (its guards use keys of their own), off
//     ignores the alert (after dedupe, so that it is audited once).

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// Webhook sources, also the actor of their audit entries and jobs.
const (
	sourceAlertmanager = "alertmanager"
	sourceGrafana      = "grafana"
)

// Grafana's HMAC headers, and how far its timestamp may be from now.
const (
	grafanaSignatureHeader = "X-Grafana-Alerting-Signature"
	grafanaTimestampHeader = "X-Grafana-Alerting-Timestamp"
	grafanaMaxSkew         = 5 * time.Minute
)

// hookBudget bounds the work done while the sender waits.
const hookBudget = 5 * time.Second

// Meta of jobs held by REBOOT_DELAY; phaseHeld makes the executor call
// runHeld when the hold ends.
const (
	phaseHeld     = "held"
	metaSource    = "source"
	metaOccurence = "occurrence"
	metaFleet     = "fleet" // distinct new servers in the delivery
)

// Decisions about an alert: the audit outcome and the metric label.
const (
	decDeduped     = "deduped"
	decSkipped     = "skipped"
	decIgnored     = "ignored"
	decHeld        = "held"
	decCooldown    = "cooldown"
	decNotAllowed  = "not-allowed"
	decCapped      = "capped"
	decBrake       = "fleet-brake"
	decApproval    = "approval"
	decNoApprovers = "no-approvers"
	decReboot      = "rebooting"
	decDryRun      = "dry-run"
	decCancelled   = "cancelled"
	decResolved    = "resolved"
	decError       = "error"
)

// registerHooks registers the monitoring webhook routes.
func (s *Server) registerHooks(mux *http.ServeMux) {
	h := s.hooks()
	mux.HandleFunc("POST /hooks/alertmanager", func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, sourceAlertmanager)
	})
	mux.HandleFunc("POST /hooks/grafana", func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, sourceGrafana)
	})
}

// hooks is the webhook handling of a Server.
type hooks struct {
	s      *Server
	cfg    RebootConfig
	alerts *prometheus.CounterVec // source, decision
	// slots holds a token per verified delivery being read and decided
	// (MaxInFlight); unverified holds one per Grafana body being read to
	// check its signature (MaxUnverified). Nothing takes a slot before its
	// credentials are checked as far as they can be without the body.
	slots, unverified chan struct{}
}

func (s *Server) hooks() *hooks {
	cfg := s.Config.Reboot.withDefaults()
	return &hooks{s: s, cfg: cfg, alerts: s.hookMetrics(),
		slots: make(chan struct{}, cfg.MaxInFlight), unverified: make(chan struct{}, cfg.MaxUnverified)}
}

// hookMetrics returns the alert counter, registered once in the Server's
// registry.
func (s *Server) hookMetrics() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bytebot_webhook_alerts_total",
		Help: "Alerts received by the monitoring webhooks, by source and decision.",
	}, []string{"source", "decision"})
	if err := s.metrics.registry.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return old
			}
		}
		s.Logger.Warn("bot: webhook metrics not registered", "err", err)
	}
	return c
}

// hookAnswer is the JSON body of a webhook's answer.
type hookAnswer struct {
	Status    string         `json:"status,omitempty"`
	Error     string         `json:"error,omitempty"`
	Request   string         `json:"request"`
	Alerts    int            `json:"alerts,omitempty"`
	Decisions map[string]int `json:"decisions,omitempty"`
}

func (h *hooks) serve(w http.ResponseWriter, r *http.Request, source string) {
	reqID := requestID(r)
	log := h.s.Logger.With("req", reqID, "source", source)
	code, ans := h.handle(w, r, log, source, reqID)
	ans.Request = reqID
	h.s.metrics.requests.WithLabelValues("hooks/"+source, strconv.Itoa(code)).Inc()
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(ans)
}

func fail(code int, msg string) (int, hookAnswer) { return code, hookAnswer{Error: msg} }

// refuse answers a request whose body is not (or not all) read: the
// connection is closed after the answer, so that the server doesn't wait
// for the rest of a body nobody wants.
func refuse(w http.ResponseWriter, code int, msg string) (int, hookAnswer) {
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

func (h *hooks) handle(w http.ResponseWriter, r *http.Request, log *slog.Logger, source, reqID string) (int, hookAnswer) {
	cfg := h.cfg
	hmacOK := source == sourceGrafana && cfg.GrafanaHMACSecret != ""
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
	busy := func(pool chan struct{}, what string) (int, hookAnswer) {
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
func (h *hooks) readBody(w http.ResponseWriter, r *http.Request, log *slog.Logger, verified bool) ([]byte, int, string) {
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
func (h *hooks) decode(r *http.Request, log *slog.Logger, source, reqID string, body []byte) (int, hookAnswer) {
	cfg := h.cfg
	var d commands.Delivery
	var err error
	if source == sourceGrafana {
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
	ans := hookAnswer{Alerts: len(d.Alerts) + len(d.Skipped), Decisions: map[string]int{}}
	for _, res := range dl.results {
		ans.Decisions[res.metric()]++
		h.alerts.WithLabelValues(source, res.metric()).Inc()
	}
	for range d.Skipped {
		ans.Decisions[decSkipped]++
		h.alerts.WithLabelValues(source, decSkipped).Inc()
	}
	h.s.goAsync(func() {
		ctx, cancel := background(r.Context(), 3*time.Minute)
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
func (h *hooks) parseHMACHeaders(hdr http.Header) (hmacHeaders, string) {
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
func (h *hooks) checkHMAC(p hmacHeaders, body []byte) string {
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

// A result is the decision about one alert.
type result struct {
	alert  commands.Alert
	server string // canonical name when identified, else fully qualified
	key    string // the server's guard key (serverKey): its ID when identified
	occ    string // the occurrence's key, for Redis and the audit log
	// fleet and holdKey stay set as decided
	decision string
	reason   string
	dry      bool   // dry-run: decision is what would have happened
	card     bool   // the decision posts an approval card
	pending  string // Schedule key of the reboot waiting for the summary's thread
	job      approvals.Job
	thread   string // where the decision was reported
	err      error
	release  func() // drops the dedupe claim when the decision failed
}

// goesOn reports whether the guards let r go on to the fleet brake: to a
// reboot, or to an approval card.
func (r *result) goesOn() bool { return r.decision == "" || r.card }

// metric is the decision's metric label.
func (r *result) metric() string {
	switch {
	case r.err != nil:
		return decError
	case r.dry && r.decision != decDeduped:
		return decDryRun
	}
	return r.decision
}

// delivery is one webhook delivery being decided and reported.
type delivery struct {
	h       *hooks
	d       commands.Delivery
	source  string
	reqID   string
	log     *slog.Logger
	now     time.Time
	results []*result
}

// parallel runs f(0..n-1) on at most 64 goroutines.
func parallel(n int, f func(i int)) {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// occurrence makes the Redis and audit key of an alert occurrence.
func occurrence(source, key string) string {
	k := source + ":" + key
	if len(k) > 120 || strings.ContainsAny(k, " ;()\n") {
		sum := sha256.Sum256([]byte(k))
		k = source + ":h" + hex.EncodeToString(sum[:12])
	}
	return k
}

func jobID(kind, occ string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + occ))
	return "hk" + hex.EncodeToString(sum[:8])
}

// decide decides every alert of the delivery and commits the decisions.
// The error is the first Redis failure; alerts it hit are left undecided
// (their dedupe claims dropped) so that a redelivery decides them.
func (dl *delivery) decide(ctx context.Context) error {
	h, cfg := dl.h, dl.h.cfg
	store := h.s.Store
	dl.results = make([]*result, len(dl.d.Alerts))
	for i, a := range dl.d.Alerts {
		dl.results[i] = &result{alert: a, server: a.Server, occ: occurrence(dl.source, a.Key)}
	}
	// Phase 1: deduplication (the claims of all alerts in one round trip),
	// then the servers' identities; resolves are decided here.
	claims := make([]string, len(dl.results))
	for i, r := range dl.results {
		kind := "firing"
		if r.alert.Status == commands.StatusResolved {
			kind = "resolved"
		}
		claims[i] = "hooks:" + kind + ":" + r.occ
	}
	tokens, lockErr := store.LockEach(ctx, claims, cfg.DedupeTTL)
	parallel(len(dl.results), func(i int) {
		r, claim := dl.results[i], claims[i]
		if lockErr != nil {
			r.err = lockErr
			return
		}
		token := tokens[i]
		if token == "" {
			r.decision, r.reason = decDeduped, "already handled (same fingerprint and start time)"
			return
		}
		r.release = func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if err := store.Unlock(ctx, claim, token); err != nil {
				dl.log.Warn("dropping dedupe claim", "err", err)
			}
		}
		if r.alert.Status == commands.StatusResolved {
			r.decision, r.reason = decResolved, "resolved"
			if cfg.Delay > 0 {
				ok, err := store.CancelScheduled(ctx, "hooks:hold:"+r.occ)
				if err != nil {
					r.err = err
					return
				}
				if ok {
					r.decision, r.reason = decCancelled, "resolved during the hold; reboot cancelled"
				}
			}
		}
	})
	dl.identify(ctx)
	// The fleet brake counts the distinct servers newly failing.
	fresh := map[string]bool{}
	for _, r := range dl.results {
		if r.err == nil && r.decision == "" {
			fresh[r.key] = true
		}
	}
	// Phase 2: hold, or the per-server guards (the cooldowns of all
	// alerts in one round trip).
	var held, guarded []*result
	var cooling []string // guarded[i]'s cooldown key
	for _, r := range dl.results {
		if r.err != nil || r.decision != "" {
			continue
		}
		r.dry = cfg.Mode == RebootDryRun
		switch {
		case cfg.Mode == RebootOff:
			r.decision, r.reason = decIgnored, "AUTO_REBOOT is off"
		case cfg.Delay > 0 && !r.dry:
			held = append(held, r)
		default:
			guarded = append(guarded, r)
			cooling = append(cooling, r.keyPrefix()+r.key)
		}
	}
	parallel(len(held), func(i int) { held[i].err = dl.hold(ctx, held[i], len(fresh)) })
	cools, coolErr := store.CooldownEach(ctx, cooling, cfg.Cooldown)
	var candidates []*result
	var mu sync.Mutex
	parallel(len(guarded), func(i int) {
		r := guarded[i]
		if coolErr != nil {
			r.err = coolErr
			return
		}
		if r.err = h.guard(ctx, r, cools[i]); r.err == nil && r.goesOn() {
			mu.Lock()
			candidates = append(candidates, r)
			mu.Unlock()
		}
	})
	// Phase 3: the fleet brake, then the action.
	servers := map[string]bool{}
	for _, r := range candidates {
		servers[r.key] = true
	}
	parallel(len(candidates), func(i int) {
		r := candidates[i]
		if r.err = h.fleet(ctx, r, len(servers)); r.err != nil || r.decision == decBrake {
			return
		}
		r.err = dl.act(ctx, r)
	})
	var first error
	for _, r := range dl.results {
		if r.err != nil {
			dl.log.Error("deciding on an alert", "server", r.server, "err", r.err)
			if r.release != nil {
				r.release()
			}
			if first == nil {
				first = r.err
			}
		}
	}
	return first
}

// identify resolves the server of every alert still to decide, once per
// name written (concurrently), so that the guards key on its ID and people
// see its canonical name. A server the API doesn't know, or not by that
// name (a wrong hostname suffix), keeps the name as written, fully
// qualified: the reboot job refuses it with its own message. When the API
// can't be asked, the alert is left undecided (its claim dropped), so that
// monitoring's retry decides it, rather than guarded under another key.
func (dl *delivery) identify(ctx context.Context) {
	s := dl.h.s
	byName := map[string][]*result{}
	var names []string
	for _, r := range dl.results {
		if r.err != nil || r.decision == decDeduped {
			continue
		}
		if byName[r.alert.Server] == nil {
			names = append(names, r.alert.Server)
		}
		byName[r.alert.Server] = append(byName[r.alert.Server], r)
	}
	// One read per group named more than once, per server otherwise.
	var ids map[string]bytemark.Identity
	var errs map[string]error
	if dl.h.cfg.Mode != RebootOff { // off touches nothing, reads included
		ids, errs = s.cloud.IdentifyAll(ctx, names)
	}
	var unknown []string
	for _, name := range names {
		id, ok := ids[name]
		err := errs[name]
		server := name
		switch {
		case ok:
			server = id.Name.String()
		case err == nil, bytemark.IsNotFound(err), bytemark.IsWrongSuffix(err):
			// Off, or a server the API doesn't know by that name.
			if err != nil {
				unknown = append(unknown, name)
			}
			if n, err := s.cloud.ResolveName(ctx, name); err == nil {
				server = n.String()
			}
		default:
			for _, r := range byName[name] {
				r.err = fmt.Errorf("bot: identifying server %s: %w", name, err)
			}
			continue
		}
		for _, r := range byName[name] {
			r.server, r.key = server, serverKey(id, server)
		}
	}
	if len(unknown) > 0 {
		dl.log.Warn("alerts for servers the API doesn't know by that name", "count", len(unknown), "servers", unknown[:min(len(unknown), 10)])
	}
}

// hold schedules the alert's decision for when the hold ends.
func (dl *delivery) hold(ctx context.Context, r *result, fleet int) error {
	cfg := dl.h.cfg
	job := dl.job(r, "")
	job.Meta[metaPhase] = phaseHeld
	job.Meta[metaFleet] = strconv.Itoa(fleet)
	if _, err := dl.h.s.Store.Schedule(ctx, "hooks:hold:"+r.occ, job, dl.now.Add(cfg.Delay)); err != nil {
		return err
	}
	r.decision = decHeld
	r.reason = fmt.Sprintf("held for %s (REBOOT_DELAY); a resolve before then cancels the reboot", cfg.Delay)
	return nil
}

// job is the reboot job for r.
func (dl *delivery) job(r *result, thread string) approvals.Job {
	a := r.alert.Reboot(dl.h.cfg.Method)
	a.Target = r.server
	return approvals.Job{
		Command:     a.String(),
		RequestedBy: dl.source,
		Channel:     dl.h.s.Config.Channel,
		ThreadTS:    thread,
		Origin:      dl.source,
		Server:      r.server,
		Meta: map[string]string{
			metaReq:       dl.reqID,
			metaReason:    alertReason(dl.source, r.alert),
			metaSource:    dl.source,
			metaOccurence: r.occ,
		},
	}
}

// alertReason describes the alert behind a reboot.
func alertReason(source string, a commands.Alert) string {
	// Name and Summary come from monitoring: escaped, so that an alert
	// can't ping the channel (<!channel>) or anyone in it.
	s := commands.Escape(cmpOr(a.Name, "an alert"))
	if a.Summary != "" {
		s += ": " + commands.Escape(a.Summary)
	}
	return slackui.Truncate(s+" ("+source+")", 400)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// keyPrefix keeps dry-run guards apart from real ones.
func (r *result) keyPrefix() string {
	if r.dry {
		return "dry:reboot:"
	}
	return "reboot:"
}

// guard applies the per-server guards: cooldown (cool is its outcome,
// asked for by the caller so that a delivery asks for all its alerts at
// once), allowlist and daily cap. It leaves r.decision empty when r may go on to the fleet brake, with
// r.card set when it would need an approval card.
func (h *hooks) guard(ctx context.Context, r *result, cool approvals.CooldownResult) error {
	cfg, store := h.cfg, h.s.Store
	if !cool.OK {
		r.decision = decCooldown
		r.reason = fmt.Sprintf("cooldown: monitoring acted on it less than %s ago (REBOOT_COOLDOWN); %s left", cfg.Cooldown, cool.Remaining.Round(time.Second))
		return nil
	}
	if cfg.Mode == RebootApprove {
		r.card, r.reason = true, "AUTO_REBOOT is approve"
		return nil
	}
	if !cfg.allowed(r.server) {
		r.card, r.reason = true, "not in REBOOT_ALLOW, so not rebooted automatically"
		r.decision = decNotAllowed
		return nil
	}
	ok, n, err := store.RateLimit(ctx, r.keyPrefix()+r.key, cfg.MaxPerDay, 24*time.Hour)
	if err != nil {
		return err
	}
	if !ok {
		r.card = true
		r.decision = decCapped
		r.reason = fmt.Sprintf("already rebooted %d times in 24 hours (REBOOT_MAX_PER_DAY %d), so not rebooted automatically", n, cfg.MaxPerDay)
		return nil
	}
	if why := h.s.Config.Policy.Why(commands.Reboot{Target: r.server, Method: cfg.Method}); why != "" {
		r.card, r.reason = true, "APPROVAL_ACTIONS includes "+why
	}
	return nil
}

// fleet applies the fleet brake to r; n is how many distinct servers the
// delivery brings at once.
func (h *hooks) fleet(ctx context.Context, r *result, n int) error {
	cfg := h.cfg
	ok, count, err := h.s.Store.DistinctLimit(ctx, r.keyPrefix()+"fleet", r.key, cfg.FleetMax, cfg.FleetWindow)
	if err != nil {
		return err
	}
	why := ""
	switch {
	case n > cfg.FleetMax:
		why = fmt.Sprintf("%d servers failing at once", n)
	case !ok:
		why = fmt.Sprintf("%d servers already acted on within %s", count, cfg.FleetWindow)
	}
	if why != "" {
		r.card = false
		r.decision = decBrake
		r.reason = fmt.Sprintf("fleet brake: %s (more than REBOOT_FLEET_MAX %d) looks like a network or monitoring fault, so automatic reboots are paused", why, cfg.FleetMax)
	}
	return nil
}

// act commits what passed the guards: an approval card or a reboot, or in
// dry-run what would have been done.
func (dl *delivery) act(ctx context.Context, r *result) error {
	h := dl.h
	switch {
	case r.card && len(h.s.Config.Approvers) == 0:
		r.card = false
		r.decision = decNoApprovers
		r.reason += "; it needs approval but no APPROVERS are configured, so nothing was done"
		return nil
	case r.card:
		if r.decision == "" {
			r.decision = decApproval
		}
		if r.dry {
			return nil
		}
		job := dl.job(r, "")
		job.ID = jobID("card", r.occ)
		job.Meta[metaPhase] = phaseAsk
		job.Meta[metaReason] = alertReason(dl.source, r.alert) + "; " + r.reason
		_, err := h.s.Store.Enqueue(ctx, job)
		return err
	}
	r.decision = decReboot
	r.reason = "rebooting (" + h.cfg.Method + ")"
	if r.dry {
		return nil
	}
	// Wait for the summary (its thread); if it never comes, run anyway.
	r.job = dl.job(r, "")
	r.job.ID = jobID("reboot", r.occ)
	r.pending = "hooks:pending:" + r.occ
	_, err := h.s.Store.Schedule(ctx, r.pending, r.job, dl.now.Add(h.cfg.ReportGrace))
	return err
}

// report posts the delivery's summary, queues its reboots in the summary's
// thread, posts resolves in the threads of what they caused, and audits
// every decision. It runs after the answer.
func (dl *delivery) report(ctx context.Context) {
	h := dl.h
	s := h.s
	channel := s.Config.Channel
	// Resolves (and holds cancelled by one) go to the thread of the alert's
	// earlier report.
	threads := map[string][]*result{}
	threadOf := threadFinder(s, dl.source)
	var lines []string
	var braked []*result
	for _, r := range dl.results {
		switch {
		case r.err != nil:
			// Not posted: monitoring retries (503), and each retry would
			// post again while Redis is down. Logged and counted instead.
		case r.decision == decResolved || r.decision == decCancelled:
			if t := threadOf(ctx, r.server, r.occ); t != "" {
				r.thread = t
				threads[t] = append(threads[t], r)
			} else if r.decision == decCancelled {
				lines = append(lines, dl.line(r))
			}
		case r.decision == decBrake:
			braked = append(braked, r)
		case r.decision == decDeduped || r.decision == decIgnored:
		default:
			lines = append(lines, dl.line(r))
		}
	}
	if len(braked) > 0 {
		var names []string
		for _, r := range braked {
			if !slices.Contains(names, commands.Code(r.server)) {
				names = append(names, commands.Code(r.server))
			}
		}
		if len(names) > 20 {
			names = append(names[:20], fmt.Sprintf("and %d more", len(names)-20))
		}
		lines = append(lines, fmt.Sprintf(":octagonal_sign: %sNot rebooting %s: %s. Reboot by hand with `/bytemark reboot SERVER` if needed.",
			dryPrefix(braked[0]), strings.Join(names, ", "), braked[0].reason))
	}
	if skipped := dl.skipped(ctx); len(skipped) > 0 {
		lines = append(lines, skipped...)
	}
	ts := ""
	if len(lines) > 0 {
		if len(lines) > 25 {
			lines = append(lines[:25], fmt.Sprintf("…and %d more; see `/bytemark audit`.", len(lines)-25))
		}
		head := fmt.Sprintf("*%s*: %s", sourceTitle(dl.source), alertCount(dl.d))
		var err error
		ts, err = s.poster.Post(ctx, channel, "", slackui.Text(head+"\n"+strings.Join(lines, "\n")))
		if err != nil {
			dl.log.Error("posting the webhook summary", "err", err)
		}
	}
	for _, r := range dl.results {
		if r.pending == "" || r.err != nil {
			continue
		}
		ok, err := s.Store.CancelScheduled(ctx, r.pending)
		switch {
		case err != nil:
			dl.log.Error("taking back a pending reboot; it runs when its grace ends", "server", r.server, "err", err)
		case !ok:
			dl.log.Warn("pending reboot already released without the summary's thread", "server", r.server)
		default:
			r.job.ThreadTS = ts
			if _, err := s.Store.Enqueue(ctx, r.job); err != nil {
				// Put it back so that it runs anyway.
				dl.log.Error("queueing a reboot; rescheduling it", "server", r.server, "err", err)
				if _, err := s.Store.Schedule(ctx, r.pending, r.job, s.Now()); err != nil {
					dl.log.Error("rescheduling a reboot: it is lost", "server", r.server, "err", err)
				}
			}
		}
	}
	entries := make([]approvals.Entry, 0, len(dl.results))
	for _, r := range dl.results {
		// Repeats are counted (bytebot_webhook_alerts_total), not audited:
		// a flood of them would only push older decisions out.
		if r.err != nil || r.decision == decDeduped {
			continue
		}
		if r.thread == "" && r.decision != decDeduped && r.decision != decIgnored {
			r.thread = ts
		}
		outcome := r.decision
		reason := r.reason
		if r.dry && r.decision != decDeduped {
			outcome, reason = decDryRun, "would be "+r.decision+": "+r.reason
		}
		a := r.alert.Reboot(h.cfg.Method)
		a.Target = r.server
		entries = append(entries, approvals.Entry{Time: s.Now(), Actor: dl.source, Action: a.String(), Server: r.server,
			Outcome: outcome, Detail: auditDetail(reason, r.alert.Name, r.occ, r.thread)})
	}
	if err := s.Store.AuditDecisions(ctx, entries...); err != nil {
		dl.log.Error("writing audit entries", "err", err, "entries", len(entries))
	}
	for t, rs := range threads {
		var b strings.Builder
		for _, r := range rs {
			if r.decision == decCancelled {
				fmt.Fprintf(&b, ":white_check_mark: %s resolved during the hold: reboot cancelled (%s).\n", commands.Code(r.server), alertReason(dl.source, r.alert))
			} else {
				fmt.Fprintf(&b, ":white_check_mark: Resolved: %s (%s).\n", commands.Code(r.server), alertReason(dl.source, r.alert))
			}
		}
		if _, err := s.poster.Post(ctx, channel, t, slackui.Text(strings.TrimSuffix(b.String(), "\n"))); err != nil {
			dl.log.Error("posting a resolve", "err", err)
		}
	}
}

// skipped reports the alerts that name no server, each once a day.
func (dl *delivery) skipped(ctx context.Context) []string {
	var lines []string
	for _, sk := range dl.d.Skipped {
		key := "hooks:skipped:" + occurrence(dl.source, sk.Fingerprint+"|"+sk.Reason)
		token, err := dl.h.s.Store.Lock(ctx, key, 24*time.Hour)
		if err != nil || token == "" {
			continue
		}
		auditHook(ctx, dl.h.s, dl.log, approvals.Entry{Actor: dl.source, Outcome: decSkipped,
			Detail: slackui.Truncate(cmpOr(sk.Name, "an alert")+": "+sk.Reason, 300)})
		lines = append(lines, fmt.Sprintf(":grey_question: Ignored %s: %s.", commands.Code(cmpOr(sk.Name, "an alert")), commands.Escape(sk.Reason)))
	}
	return lines
}

func dryPrefix(r *result) string {
	if r.dry {
		return "Dry run (AUTO_REBOOT=dry-run), nothing done: "
	}
	return ""
}

// line is the summary line of one decision.
func (dl *delivery) line(r *result) string {
	why := alertReason(dl.source, r.alert)
	srv := commands.Code(r.server)
	var s string
	switch r.decision {
	case decReboot:
		s = fmt.Sprintf(":arrows_counterclockwise: Rebooting %s (%s), for %s", srv, dl.h.cfg.Method, why)
		if r.dry {
			s = fmt.Sprintf(":arrows_counterclockwise: Would reboot %s (%s), for %s", srv, dl.h.cfg.Method, why)
		}
	case decHeld:
		s = fmt.Sprintf(":hourglass_flowing_sand: %s: %s. Alert: %s", srv, r.reason, why)
	case decCooldown:
		s = fmt.Sprintf(":snowflake: Not rebooting %s: %s. Alert: %s", srv, r.reason, why)
	case decNotAllowed, decCapped, decApproval:
		verb := "approval card posted"
		if r.dry {
			verb = "would post an approval card"
		}
		s = fmt.Sprintf(":raised_hand: %s: %s; %s. Alert: %s", srv, r.reason, verb, why)
	case decNoApprovers:
		s = fmt.Sprintf(":warning: Not rebooting %s: %s. Alert: %s", srv, r.reason, why)
	case decCancelled:
		s = fmt.Sprintf(":white_check_mark: %s: %s. Alert: %s", srv, r.reason, why)
	default:
		s = fmt.Sprintf("%s: %s. Alert: %s", srv, r.reason, why)
	}
	return dryPrefix(r) + s
}

func sourceTitle(source string) string {
	if source == sourceGrafana {
		return "Grafana"
	}
	return "Alertmanager"
}

func alertCount(d commands.Delivery) string {
	firing, resolved := 0, 0
	for _, a := range d.Alerts {
		if a.Status == commands.StatusResolved {
			resolved++
		} else {
			firing++
		}
	}
	var parts []string
	if firing > 0 {
		parts = append(parts, fmt.Sprintf("%d firing", firing))
	}
	if resolved > 0 {
		parts = append(parts, fmt.Sprintf("%d resolved", resolved))
	}
	if n := len(d.Skipped); n > 0 {
		parts = append(parts, fmt.Sprintf("%d without a server", n))
	}
	return strings.Join(parts, ", ")
}

// auditDetail records an alert decision so that a later resolve can find
// the thread it was reported in.
func auditDetail(reason, name, occ, thread string) string {
	return fmt.Sprintf("%s (alert %s; key=%s; thread=%s)", slackui.Truncate(reason, 300), slackui.Truncate(cmpOr(name, "?"), 80), occ, thread)
}

// threadFinder returns a function that finds the thread an occurrence was
// reported in, from the audit log, with a cache per server.
func threadFinder(s *Server, source string) func(ctx context.Context, server, occ string) string {
	cache := map[string][]approvals.Entry{}
	return func(ctx context.Context, server, occ string) string {
		es, ok := cache[server]
		if !ok {
			var err error
			es, err = s.Store.AuditLog(ctx, server, 50)
			if err != nil {
				s.Logger.Warn("reading the audit log for a thread", "err", err)
			}
			cache[server] = es
		}
		needle := "; key=" + occ + "; thread="
		for _, e := range es {
			if e.Actor != source {
				continue
			}
			if _, rest, ok := strings.Cut(e.Detail, needle); ok {
				if t := strings.TrimSuffix(rest, ")"); t != "" {
					return t
				}
			}
		}
		return ""
	}
}

// runHeld decides a job held by REBOOT_DELAY once its hold is over: the
// guards and the mode as they are now, reported in the thread of the
// delivery that held it.
func (e *execution) runHeld(ctx context.Context, a commands.Action) (string, bool) {
	h := e.s.hooks()
	m := e.job.Meta
	source, occ := cmpOr(m[metaSource], e.job.Origin), m[metaOccurence]
	thread := threadFinder(e.s, source)(ctx, e.job.Server, occ)
	e.job.ThreadTS = thread
	alert := commands.Alert{Server: a.Server(), Name: "", Key: occ}
	r := &result{alert: alert, server: a.Server(), key: serverKey(e.id, a.Server()), occ: occ}
	fleet, _ := strconv.Atoi(m[metaFleet])
	var err error
	switch h.cfg.Mode {
	case RebootOff:
		r.decision, r.reason = decIgnored, "AUTO_REBOOT is off"
	case RebootDryRun:
		r.decision, r.reason = decIgnored, "AUTO_REBOOT is dry-run now"
	default:
		var cool approvals.CooldownResult
		cool.OK, cool.Remaining, err = e.s.Store.Cooldown(ctx, r.keyPrefix()+r.key, h.cfg.Cooldown)
		if err == nil {
			err = h.guard(ctx, r, cool)
		}
		if err == nil && r.goesOn() {
			err = h.fleet(ctx, r, fleet)
		}
		switch {
		case err != nil || !r.goesOn():
		case r.card && len(e.s.Config.Approvers) == 0:
			r.card, r.decision = false, decNoApprovers
			r.reason += "; it needs approval but no APPROVERS are configured, so nothing was done"
		case r.card:
			r.decision = cmpOr(r.decision, decApproval)
		default:
			r.decision, r.reason = decReboot, "the hold is over and the alert didn't resolve: rebooting ("+h.cfg.Method+")"
		}
	}
	if err != nil {
		e.logErr("deciding a held reboot", err)
		e.post(ctx, e.job.Channel, thread, fmt.Sprintf(":x: Not rebooting %s after the hold: the state store is unavailable (ref %s).", commands.Code(a.Server()), e.ref()))
		h.alerts.WithLabelValues(source, decError).Inc()
		return "failed", true
	}
	h.alerts.WithLabelValues(source, r.decision).Inc()
	auditHook(ctx, e.s, e.log, approvals.Entry{Actor: source, Action: a.String(), Server: a.Server(), Outcome: r.decision,
		Detail: auditDetail(r.reason, "", occ, thread)})
	switch {
	case r.card:
		return e.ask(ctx, a, e.job.Channel, "", m[metaReason]+"; "+r.reason)
	case r.decision == decReboot:
		return e.runPlain(ctx, a)
	case r.decision == decIgnored:
		return r.decision, false
	}
	e.post(ctx, e.job.Channel, thread, fmt.Sprintf(":octagonal_sign: Not rebooting %s after the hold: %s.", commands.Code(a.Server()), r.reason))
	return r.decision, false
}

// auditHook writes one audit entry about a webhook decision, logging (not
// failing) when it can't.
func auditHook(ctx context.Context, s *Server, log *slog.Logger, e approvals.Entry) {
	if e.Time.IsZero() {
		e.Time = s.Now()
	}
	if err := s.Store.AuditDecisions(ctx, e); err != nil {
		log.Error("writing audit entry", "err", err, "entry_action", e.Action, "outcome", e.Outcome)
	}
}
