package bytemark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultAPIURL          = "https://uk0.bigv.io"
	DefaultAuthURL         = "https://auth.bytemark.co.uk"
	DefaultGroup           = "default"
	DefaultSessionValidity = 5 * time.Minute
	DefaultPowerTimeout    = 2 * time.Minute
	DefaultPollInterval    = 2 * time.Second
	DefaultUserAgent       = "bytebot"
)

// Options configure a Client. Set either APIKey or Username and Password.
type Options struct {
	APIURL  string // API base URL; default DefaultAPIURL
	AuthURL string // auth host base URL; default DefaultAuthURL

	// APIKey is sent as "Authorization: Bearer apikey.<key>"; with it the
	// auth host is never contacted.
	APIKey string

	// Username and Password log in at the auth host; the session token is
	// kept in memory, renewed before it expires, and renewed when the API
	// answers 401.
	Username, Password string

	// Account and Group complete short server names. Group defaults to
	// "default". An empty Account is looked up once, as the first account
	// the login can see, and cached.
	Account, Group string

	UserAgent string // default DefaultUserAgent

	// SessionValidity is the session lifetime asked for at login (sent in
	// whole seconds). The client renews a session that has gone unused for
	// four fifths of the lifetime, capped at the API's five-minute extension
	// step. Default DefaultSessionValidity.
	SessionValidity time.Duration

	// PowerTimeout bounds how long ShutdownServer, RestartServer and a
	// rescue of a running server wait for it to power off. Default
	// DefaultPowerTimeout.
	PowerTimeout time.Duration

	// PollInterval is the first wait between power-state reads; later
	// waits double, up to 8 times this. Default DefaultPollInterval.
	PollInterval time.Duration

	Now    func() time.Time // default time.Now; for tests
	Logger *slog.Logger     // default discards
}

// Retry policy for reads (GET): attempts in all, and the backoff bounds.
const (
	readAttempts = 3
	retryBase    = 100 * time.Millisecond
	retryCap     = 2 * time.Second
)

// maxTokenLen bounds the session token read from the auth host.
const maxTokenLen = 4 << 10

// sessionStep is how far the API extends a session on every authenticated
// request.
const sessionStep = 5 * time.Minute

// A Client talks to the Bytemark Cloud Servers API. It is safe for
// concurrent use.
type Client struct {
	hc        *http.Client
	baseURL   *url.URL // API, with a trailing slash
	authURL   *url.URL // auth host, with a trailing slash
	userAgent string
	apiKey    string
	username  string
	password  string
	group     string
	validity  time.Duration
	renewAge  time.Duration // renew a session unused for this long
	powerWait time.Duration
	pollEvery time.Duration
	retryBase time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu         sync.Mutex // guards the fields below
	token      string     // session token, "" before login
	tokenUsed  time.Time  // when the token was issued or last accepted
	login      *flight    // login under way
	account    string     // default account, configured or looked up
	accountReq *flight    // account lookup under way

	defs defsCache // CachedDefinitions
}

// A flight is a call shared by concurrent callers.
type flight struct {
	done chan struct{}
	val  string
	err  error
}

// NewClient returns a client using hc (a client with a 60s timeout if nil).
// It checks the options but makes no request.
func NewClient(hc *http.Client, opts Options) (*Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Client{
		hc:        hc,
		userAgent: cmpOr(opts.UserAgent, DefaultUserAgent),
		username:  opts.Username,
		password:  opts.Password,
		group:     cmpOr(opts.Group, DefaultGroup),
		account:   opts.Account,
		validity:  cmpOr(opts.SessionValidity, DefaultSessionValidity),
		powerWait: cmpOr(opts.PowerTimeout, DefaultPowerTimeout),
		pollEvery: cmpOr(opts.PollInterval, DefaultPollInterval),
		retryBase: retryBase,
		now:       opts.Now,
		log:       opts.Logger,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if c.baseURL, err = baseURL("API", cmpOr(opts.APIURL, DefaultAPIURL)); err != nil {
		return nil, err
	}
	if c.authURL, err = baseURL("auth", cmpOr(opts.AuthURL, DefaultAuthURL)); err != nil {
		return nil, err
	}
	switch {
	case opts.APIKey != "" && (opts.Username != "" || opts.Password != ""):
		return nil, errors.New("bytemark: set either an API key or a username and password, not both")
	case opts.APIKey != "":
		key := strings.TrimPrefix(opts.APIKey, "apikey.")
		if key == "" || !headerSafe(key) {
			return nil, errors.New("bytemark: the API key is empty or has spaces or control characters")
		}
		c.apiKey = key
	case opts.Username == "" || opts.Password == "":
		return nil, errors.New("bytemark: an API key, or a username and password, is required")
	}
	if c.validity < time.Second {
		return nil, fmt.Errorf("bytemark: session validity %s is under a second", c.validity)
	}
	c.renewAge = min(c.validity, sessionStep) * 4 / 5
	if opts.Account != "" {
		if err := checkLabel(strings.ToLower(opts.Account)); err != nil {
			return nil, fmt.Errorf("bytemark: invalid default account %q: %w", opts.Account, err)
		}
		c.account = strings.ToLower(opts.Account)
	}
	if err := checkLabel(strings.ToLower(c.group)); err != nil {
		return nil, fmt.Errorf("bytemark: invalid default group %q: %w", c.group, err)
	}
	c.group = strings.ToLower(c.group)
	return c, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func baseURL(what, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("bytemark: %s URL %q must be http(s)://host[/path] with no credentials or query", what, redactURL(s))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// redactURL hides any user:password part of a URL that failed to parse.
func redactURL(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
		return "…" + s[i:]
	}
	return s
}

func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// NewRequest returns an API request for path, which is relative to the API
// base URL (no leading slash) and may carry a query. A non-nil body is sent
// as JSON. Do adds the Authorization header.
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	return c.newRequest(ctx, c.baseURL, method, path, body)
}

func (c *Client) newRequest(ctx context.Context, base *url.URL, method, path string, body any) (*http.Request, error) {
	if strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("bytemark: path %q must be relative to the base URL", path)
	}
	p, _, _ := strings.Cut(path, "?")
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			// URL resolution would drop segments: a disc purge could
			// become a server purge.
			return nil, fmt.Errorf("bytemark: path %q has a dot segment", path)
		}
	}
	u, err := base.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("bytemark: bad path %q: %w", path, err)
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("bytemark: encoding %s %s: %w", method, u.Path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("bytemark: %s %s: %w", method, u.Path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

// Do sends an API request made by NewRequest, authenticated, and decodes a
// JSON response into v (if v is non-nil and the body is not empty).
// Non-2xx responses are returned as *Error. Reads (GET, HEAD) are tried up
// to 3 times in all on connection errors and 502, 503 and 504; writes are
// sent once. With a session login, any request the API answers 401 is sent
// once more after a fresh login (the API acted on nothing); with an API
// key, a 401 is returned as it is.
func (c *Client) Do(req *http.Request, v any) error {
	return c.do(req, v, true)
}

func (c *Client) do(req *http.Request, v any, auth bool) error {
	resp, err := c.authSend(req, auth)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := c.checkResponse(resp); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil && err != io.EOF {
		return fmt.Errorf("bytemark: %s %s: decoding response: %w", req.Method, c.relPath(req.URL), err)
	}
	return nil
}

// authSend sends req, authenticated if auth is set. With a session, a 401
// leads to one fresh login and one retry, which is safe for writes too:
// the API refused the first request without acting on it.
func (c *Client) authSend(req *http.Request, auth bool) (*http.Response, error) {
	ctx := req.Context()
	var stale string // a session token the API refused
	for {
		var tok string
		if auth {
			var err error
			if tok, err = c.bearer(ctx, stale); err != nil {
				return nil, err
			}
		}
		sent := c.now()
		resp, err := c.send(req, tok)
		if err != nil || !auth || !c.session() {
			return resp, err
		}
		if resp.StatusCode == http.StatusUnauthorized && stale == "" {
			drain(resp)
			c.log.InfoContext(ctx, "bytemark: session refused, logging in again", "method", req.Method, "path", c.relPath(req.URL))
			stale = tok
			continue
		}
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode < 500 {
			c.touch(tok, sent)
		}
		return resp, nil
	}
}

// send sends req with the Authorization token tok, retrying reads on
// connection errors and 502, 503, 504 with jittered exponential backoff.
func (c *Client) send(req *http.Request, tok string) (*http.Response, error) {
	ctx := req.Context()
	attempts := 1
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		attempts = readAttempts
	}
	for i := 0; ; i++ {
		r := req.Clone(ctx)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		start := time.Now()
		resp, err := c.hc.Do(r)
		last := i+1 >= attempts
		if err != nil {
			err = c.transportError(req, err)
			if last || ctx.Err() != nil {
				return nil, err
			}
			c.log.WarnContext(ctx, "bytemark: retrying read", "method", req.Method, "path", c.relPath(req.URL), "attempt", i+1, "err", err)
		} else {
			c.log.DebugContext(ctx, "bytemark: request", "method", req.Method, "path", c.relPath(req.URL),
				"status", resp.StatusCode, "duration", time.Since(start))
			switch resp.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				if last {
					return resp, nil
				}
				drain(resp)
				c.log.WarnContext(ctx, "bytemark: retrying read", "method", req.Method, "path", c.relPath(req.URL), "attempt", i+1, "status", resp.StatusCode)
			default:
				return resp, nil
			}
		}
		if err := sleep(ctx, c.backoff(i)); err != nil {
			return nil, c.transportError(req, err)
		}
	}
}

// backoff returns the wait before retry i+1: exponential from
// c.retryBase, capped, with jitter in [d/2, d).
func (c *Client) backoff(i int) time.Duration {
	d := min(c.retryBase<<i, retryCap)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// transportError wraps err without the URL (it says which call failed).
func (c *Client) transportError(req *http.Request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("bytemark: %s %s: %w", req.Method, c.relPath(req.URL), err)
}

// checkResponse is CheckResponse with the path made relative to the base
// URL and every secret the client knows scrubbed from the message.
func (c *Client) checkResponse(resp *http.Response) error {
	err := CheckResponse(resp)
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	if resp.Request != nil && resp.Request.URL != nil {
		e.Path = c.relPath(resp.Request.URL)
	}
	e.Message = c.redact(e.Message)
	for k, msgs := range e.Problems {
		for i := range msgs {
			msgs[i] = c.redact(msgs[i])
		}
		if rk := c.redact(k); rk != k {
			delete(e.Problems, k)
			e.Problems[rk] = msgs
		}
	}
	return e
}

// relPath returns u's path, less the base URL's path prefix (so
// "/accounts/…" whatever the base), and never the query.
func (c *Client) relPath(u *url.URL) string {
	prefix := ""
	for _, base := range []*url.URL{c.baseURL, c.authURL} {
		if u.Host == base.Host && strings.HasPrefix(u.Path, base.Path) && len(base.Path) > len(prefix) {
			prefix = base.Path
		}
	}
	if prefix == "" {
		return u.Path
	}
	return "/" + strings.TrimPrefix(u.Path, prefix)
}

// redact replaces every secret the client holds with "[redacted]".
func (c *Client) redact(s string) string {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	for _, secret := range []string{c.password, c.apiKey, tok} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
