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
	Phase  string // phaseAsk or phaseHeld; "" runs the action
	Power  string // tickets: "on" or "off" when the card was made
	// A reboot held by REBOOT_DELAY (phaseHeld):
	Source     string // the webhook it came from
	Occurrence string // the alert occurrence's key
	Fleet      int    // distinct new servers in its delivery
	// The response_url of the command that asked (a job's, and its
	// ticket's and the ticket's job's), and when Slack gave it: it takes
	// posts for 30 minutes (responder.go).
	ResponseURL string
	ResponseAt  time.Time
}

// Meta keys, and phases of a job.
const (
	metaPower      = "power"
	metaPhase      = "phase"
	metaReq        = "req"
	metaReason     = "reason"
	metaSource     = "source"
	metaOccurrence = "occurrence"
	metaFleet      = "fleet"
	metaRespURL    = "response_url"
	metaRespAt     = "response_at"

	phaseAsk  = "ask"  // prepare an approval card rather than run
	phaseHeld = "held" // decide a held reboot again (hooks_report.go)
)

// metaOf reads the bot's meta from m.
func metaOf(m map[string]string) jobMeta {
	fleet, _ := strconv.Atoi(m[metaFleet])
	jm := jobMeta{Req: m[metaReq], Reason: m[metaReason], Phase: m[metaPhase], Power: m[metaPower],
		Source: m[metaSource], Occurrence: m[metaOccurrence], Fleet: fleet, ResponseURL: m[metaRespURL]}
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
	set(metaSource, m.Source)
	set(metaOccurrence, m.Occurrence)
	fleet := ""
	if m.Fleet != 0 {
		fleet = strconv.Itoa(m.Fleet)
	}
	set(metaFleet, fleet)
	set(metaRespURL, m.ResponseURL)
	at := ""
	if m.ResponseURL != "" && !m.ResponseAt.IsZero() {
		at = strconv.FormatInt(m.ResponseAt.UnixMilli(), 10)
	}
	set(metaRespAt, at)
	return out
}
