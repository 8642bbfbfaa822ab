package bot

import (
	"context"
	"time"
)

// runningAfter is how long an approved job runs before its card says
// ":gear: Running…". A job that starts at once and ends sooner (most do)
// updates its card twice (the vote, the result) rather than three times
// (issue 20); one that takes longer still shows that it is running.
const runningAfter = 2 * time.Second

// runningLater shows ":gear: Running…" on ticket id's card if the job is
// still running after runningAfter, and not if its result is on the card
// by then. The returned function stops it (call it when the job ends).
// The console (Config.Inline) never shows it.
func (e *execution) runningLater(ctx context.Context, id string) func() {
	if e.s.Config.Inline {
		// The console's transcript is the same on any machine: no note
		// that a slow one would add and a fast one wouldn't.
		return func() {}
	}
	start := e.s.Now()
	t := time.AfterFunc(runningAfter, func() {
		unlock := e.s.cards.lock(id)
		defer unlock()
		if e.s.notes.finalSince(id, start) {
			return // the result is on the card already
		}
		e.s.updateCardLocked(ctx, e.log, id, news{Note: ":gear: Running…"}, true)
	})
	return func() { t.Stop() }
}

// finalSince reports whether ticket id's card got final news at or after t.
func (f *finalNotes) finalSince(id string, t time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[id]
	return ok && !v.at.Before(t)
}
