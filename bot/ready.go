package bot

import (
	"context"
	"sync"
	"time"
)

// readyCache is the last Bytemark check of /readyz. Anyone can ask
// /readyz, as often as they like; the Bytemark account must not pay for
// it, so the API is asked at most once per Config.ReadyEvery, and askers
// who come while a check runs wait for that one.
type readyCache struct {
	mu      sync.Mutex
	checked time.Time     // when the last check ended; zero if none has
	err     error         // its outcome
	running chan struct{} // closed when the running check ends; nil if none runs
}

// pingBytemark returns the outcome of a Bytemark check (Cloud.Ping) made
// less than Config.ReadyEvery ago, making one if there is none.
func (s *Server) pingBytemark(ctx context.Context) error {
	c := &s.ready
	c.mu.Lock()
	if !c.checked.IsZero() && s.Now().Sub(c.checked) < s.Config.ReadyEvery {
		err := c.err
		c.mu.Unlock()
		return err
	}
	running := c.running
	if running == nil {
		running = make(chan struct{})
		c.running = running
		// The check outlives the request that started it: the others
		// wait for it, and a caller giving up must not spoil it.
		s.Go(func() {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			err := s.api.Ping(pctx)
			cancel()
			c.mu.Lock()
			c.checked, c.err, c.running = s.Now(), err, nil
			c.mu.Unlock()
			close(running)
		})
	}
	c.mu.Unlock()
	select {
	case <-running:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
