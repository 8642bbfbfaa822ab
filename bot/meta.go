package bot

import (
	"maps"
	"strconv"
	"time"

	"github.com/bytebot/bytebot/approvals"
)

// jobMeta is what the bot keeps in a ticket's or a job's Meta, typed. It
// is stored as the string keys below (approvals.Job.Meta), which Redis
// holds across restarts and versions: the keys are fixed.
type jobMeta struct {
	Req    string // the request ID that started it
	Reason string // why (e.g. the alert behind a webhook request)
	Phase  string // phaseAsk; "" runs the action
	Power  string // tickets: "on" or "off" when the card was made
	// Decided: the entry point decided the job under the policy
	// (Request.Decided); the executor doesn't judge it again.
	Decided bool
	// The response_url of the command that asked (a job's, and its
	// ticket's and the ticket's job's), and when Slack gave it: it takes
	// posts for 30 minutes (responder.go).
	ResponseURL string
	ResponseAt  time.Time
}

// Meta keys, and phases of a job.
const (
	metaPower   = "power"
	metaPhase   = "phase"
	metaReq     = "req"
	metaReason  = "reason"
	metaDecided = "decided"
	metaRespURL = "response_url"
	metaRespAt  = "response_at"

	phaseAsk = "ask" // prepare an approval card rather than run
)

// metaOf reads the bot's meta from m.
func metaOf(m map[string]string) jobMeta {
	jm := jobMeta{Req: m[metaReq], Reason: m[metaReason], Phase: m[metaPhase], Power: m[metaPower],
		Decided: m[metaDecided] == "edge", ResponseURL: m[metaRespURL]}
	if at, err := strconv.ParseInt(m[metaRespAt], 10, 64); err == nil && at > 0 {
		jm.ResponseAt = time.UnixMilli(at)
	}
	return jm
}

// jobMetaOf reads job's meta.
func jobMetaOf(job *approvals.Job) jobMeta { return metaOf(job.Meta) }

// encode returns m as Meta, with other's keys (those that are not the
// bot's, e.g. approvals.MetaServerID) kept; empty fields are left out.
func (m jobMeta) encode(other map[string]string) map[string]string {
	out := maps.Clone(other)
	if out == nil {
		out = map[string]string{}
	}
	set := func(k, v string) {
		if v == "" {
			delete(out, k)
			return
		}
		out[k] = v
	}
	set(metaReq, m.Req)
	set(metaReason, m.Reason)
	set(metaPhase, m.Phase)
	set(metaPower, m.Power)
	if m.Decided {
		set(metaDecided, "edge")
	} else {
		set(metaDecided, "")
	}
	set(metaRespURL, m.ResponseURL)
	at := ""
	if m.ResponseURL != "" && !m.ResponseAt.IsZero() {
		at = strconv.FormatInt(m.ResponseAt.UnixMilli(), 10)
	}
	set(metaRespAt, at)
	return out
}
