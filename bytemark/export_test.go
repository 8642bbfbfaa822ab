package bytemark

import "time"

// SetRetryBase shortens the read-retry backoff for tests.
func (c *Client) SetRetryBase(d time.Duration) { c.retryBase = d }
