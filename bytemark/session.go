package bytemark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// session reports whether the client logs in with a username and password.
func (c *Client) session() bool { return c.apiKey == "" }

// bearer returns the token for the Authorization header: the API key, or a
// live session token other than stale, logging in if needed.
func (c *Client) bearer(ctx context.Context, stale string) (string, error) {
	if !c.session() {
		return "apikey." + c.apiKey, nil
	}
	return c.shared(ctx, &c.login,
		func() (string, bool) {
			ok := c.token != "" && c.token != stale && c.now().Sub(c.tokenUsed) < c.renewAge
			return c.token, ok
		},
		c.createSession,
		func(tok string) { c.token, c.tokenUsed = tok, c.now() },
	)
}

// touch records that the API accepted tok at time t, which extends the
// session.
func (c *Client) touch(tok string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok && t.After(c.tokenUsed) {
		c.tokenUsed = t
	}
}

// shared returns the cached value when cached reports it usable; otherwise
// one caller runs fetch (the others wait for it) and save stores a
// successful result. cached, save and *slot are guarded by c.mu. A waiter
// whose leader gave up because of its own context tries again.
func (c *Client) shared(ctx context.Context, slot **flight, cached func() (string, bool),
	fetch func(context.Context) (string, error), save func(string)) (string, error) {
	for {
		c.mu.Lock()
		if v, ok := cached(); ok {
			c.mu.Unlock()
			return v, nil
		}
		f := *slot
		if f == nil {
			f = &flight{done: make(chan struct{})}
			*slot = f
			c.mu.Unlock()
			f.val, f.err = fetch(ctx)
			c.mu.Lock()
			if f.err == nil {
				save(f.val)
			}
			*slot = nil
			c.mu.Unlock()
			close(f.done)
			return f.val, f.err
		}
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if f.err == nil {
			return f.val, nil
		}
		if !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
			return "", f.err
		}
	}
}

// createSession logs in at the auth host and returns the session token.
//
// Bytemark auth docs: POST /session on the auth host ("Create session").
func (c *Client) createSession(ctx context.Context) (string, error) {
	body := map[string]string{
		"username": c.username,
		"password": c.password,
		"validity": fmt.Sprint(int64(c.validity / time.Second)),
	}
	req, err := c.newRequest(ctx, c.authURL, http.MethodPost, "session", body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/plain")
	c.log.InfoContext(ctx, "bytemark: logging in", "username", c.username)
	resp, err := c.send(req, "")
	if err != nil {
		return "", fmt.Errorf("bytemark: login: %w", err)
	}
	defer resp.Body.Close()
	if err := c.checkResponse(resp); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenLen+1))
	if err != nil {
		return "", fmt.Errorf("bytemark: login: reading token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || len(tok) > maxTokenLen || !headerSafe(tok) {
		return "", errors.New("bytemark: login: the auth host returned an empty or malformed session token")
	}
	return tok, nil
}
