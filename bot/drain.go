package bot

import "context"

// Drain runs every job that is queued or due now, in the caller's
// goroutine, until none is left: an executor for a single-threaded front
// end (the console), in place of Run.
func (s *Server) Drain(ctx context.Context) {
	const consumer = "console"
	for range 1000 {
		if _, err := s.Store.PromoteDue(ctx); err != nil {
			s.Logger.Error("promoting delayed jobs", "err", err)
		}
		job, err := s.Store.Claim(ctx, consumer, 0)
		if err != nil {
			s.Logger.Error("claiming a job", "err", err)
			return
		}
		if job == nil {
			return
		}
		s.execute(ctx, consumer, job)
	}
}
