package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
)

// Names the tests (package bot_test) use from inside the package.

// Card renders a ticket's card with a note, as the executor's notes do.
func Card(t approvals.Ticket, now time.Time, note string) slackui.Message {
	return card(t, now, news{Note: note})
}

// CardWith renders a ticket's card with news (an outcome).
var CardWith = card

var DiscList = discList
var ErrNoDisc = errNoDisc

var NewID = newID
var ParseSnapshot = parseSnapshot

var TakeSnapshot = takeSnapshot

const (
	MetaPower  = metaPower
	MetaReason = metaReason
)

// Diff is snapshot.diff.
func (s snapshot) Diff(now snapshot) string { return s.diff(now) }

// Execute is execute: runs one claimed job.
func (s *Server) Execute(ctx context.Context, consumer string, job *approvals.Job) {
	s.execute(ctx, consumer, job)
}

// SetClaimBlock sets how long a worker waits for a job before looking again.
func (s *Server) SetClaimBlock(d time.Duration) { s.claimBlock = d }

// ClaimBlock is how long a worker waits for a job before looking again.
func (s *Server) ClaimBlock() time.Duration { return s.claimBlock }

// MetricsRegistry is the registry served on /metrics.
func (s *Server) MetricsRegistry() *prometheus.Registry { return s.metrics.registry }
