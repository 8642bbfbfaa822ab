// Package bytemarktest is an in-memory fake of the Bytemark auth host and
// the Bytemark Cloud Servers API (the "Brain", uk0.bigv.io), served with
// net/http/httptest. Both hosts share one base URL: /session and
// /session/{token} are the auth host, everything else is the API.
//
// The fake follows the documented behaviour of the real services (see
// bytemark-api.md): session tokens with a five-minute sliding expiry on an
// injectable clock, API keys, names or ids in every path segment,
// include_deleted and view=overview, the power state machine, soft delete,
// undelete and purge, the disc rules, PUT with PATCH semantics (resize,
// rename, moves between groups), vm_create, reimage, the rescue appliance,
// and 400/401/403/404 answers in the real shapes. It is seeded with demo data (see NewServer) and records
// every request for assertions. Faults and latency can be injected.
//
// A Server is safe for concurrent use.
package bytemarktest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Demo credentials accepted by every Server.
const (
	// APIKey is the demo API key. Clients send it as
	// "Authorization: Bearer apikey.<APIKey>".
	APIKey = "demo0d3f4c7e9a2b5d8c1e6f"
	// Username is the demo user's login name.
	Username = "demo"
	// Password is the demo user's password.
	Password = "correct-horse-battery-staple"
)

// Session timing of the auth host.
const (
	// DefaultSessionValidity is how long a new session lives when the
	// login does not ask for a validity.
	DefaultSessionValidity = 5 * time.Minute
	// MaxSessionValidity is the largest validity a login may ask for;
	// larger values are clamped.
	MaxSessionValidity = time.Hour
	// SessionExtension is how far each use of a session pushes its
	// expiry: a session used at time t lives at least until t plus this.
	SessionExtension = 5 * time.Minute
)

// A Request is one request the fake received, as recorded in its log.
type Request struct {
	Time   time.Time   // on the fake's clock
	Method string      // GET, POST, ...
	Path   string      // normalised path, e.g. /accounts/acme/groups/default
	Query  string      // raw query string without "?", e.g. view=overview&include_deleted=true
	Body   string      // request body as received
	Header http.Header // request headers (a copy)
	// Auth is how the request authenticated: AuthNone (no Authorization
	// header), AuthInvalid (a header that did not name a live session or a
	// known API key), AuthSession or AuthAPIKey. Requests to the auth host
	// and to /definitions, and requests answered by an injected fault,
	// record AuthNone unless they carried a valid header.
	Auth string
	// Status is the HTTP status the fake answered with; 0 while the
	// request is still being handled.
	Status int
	// Injected reports that the answer came from FailNext.
	Injected bool
}

// Values of Request.Auth.
const (
	AuthNone    = "none"
	AuthInvalid = "invalid"
	AuthSession = "session"
	AuthAPIKey  = "apikey"
)

// A Server is the fake auth host and API. Create one with NewServer or
// NewUnstartedServer.
type Server struct {
	ts      *httptest.Server
	handler http.Handler
	done    chan struct{}
	close   sync.Once

	mu                sync.Mutex
	now               func() time.Time
	latency           time.Duration
	faults            []*fault
	log               []*Request
	logLimit          int // 0: keep every request
	sessions          map[string]*session
	apiKeys           map[string]bool
	users             map[string]string // username -> password
	st                *state
	powerdownDelay    time.Duration
	hangOnPowerdown   map[int]bool // vm id -> ignores ACPI powerdown
	pendingPowerdowns map[int]time.Time
}

type fault struct {
	method, pattern string
	status, left    int
}

// NewServer returns a started fake seeded with the demo data:
//
//   - account "acme" (id 1), fully writable by the demo user, with group
//     "default" (web1 and web2 running, db1 running with root, data (ssd)
//     and backups (archive) discs, and old1 already deleted) and group
//     "staging" (stage1, powered off, in manchester);
//   - account "partner" (id 2), readable but not writable: writes get 403;
//   - account "hidden" (id 3), invisible: everything under it is 404.
//
// The demo user (Username, Password) and the API key (APIKey) both see
// the same accounts. The caller must Close the server.
func NewServer() *Server {
	s := NewUnstartedServer()
	s.Start()
	return s
}

// NewUnstartedServer returns a seeded fake that is not listening yet. Call
// Start to serve it with httptest, or serve Handler yourself (as
// `bytebot fake-bytemark --listen` does).
func NewUnstartedServer() *Server {
	s := &Server{
		done:              make(chan struct{}),
		now:               time.Now,
		sessions:          make(map[string]*session),
		apiKeys:           map[string]bool{APIKey: true},
		users:             map[string]string{Username: Password},
		st:                seed(),
		hangOnPowerdown:   make(map[int]bool),
		pendingPowerdowns: make(map[int]time.Time),
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s
}

// Start starts an httptest server for a server made by
// NewUnstartedServer, listening on a loopback port. It panics if the
// server was already started.
func (s *Server) Start() {
	if s.ts != nil {
		panic("bytemarktest: Server started twice")
	}
	s.ts = httptest.NewServer(s.handler)
}

// Close shuts the server down. Requests held up by SetLatency are
// released at once. It is safe to call Close more than once, and on a
// server that was never started.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// URL returns the base URL of both the auth host and the API, without a
// trailing slash. It is empty until the server is started.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Client returns an HTTP client for the started server (http.DefaultClient
// when it is not started).
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Handler returns the fake's handler, for serving it on a listener of
// your own. Requests it serves are logged like any other.
func (s *Server) Handler() http.Handler { return s.handler }

// SetNow replaces the clock used for session expiry, the request log and
// powerdown delays. nil restores time.Now.
func (s *Server) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetLatency delays every subsequent API request (not the auth host) by
// d before it is handled. A request whose context ends, or a Close,
// cuts the delay short. Zero removes the delay.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// FailNext makes the next n requests that match method and pathPattern
// fail with status instead of being handled. It applies to the auth host
// and the API alike and happens before authentication.
//
// method "" or "*" matches any method. A pathPattern without "*" matches
// any path containing it ("" matches everything); with "*" it is matched
// against the whole normalised path, each "*" standing for any run of
// characters, slashes included (e.g. "/accounts/*/signal"). Rules are
// tried in the order they were added; a used-up rule is dropped.
//
// The answer has a text/plain body, except that a 400 carries a JSON body
// in the API's shape.
func (s *Server) FailNext(method, pathPattern string, status, n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: strings.ToUpper(method), pattern: pathPattern, status: status, left: n})
}

// ClearFaults drops every rule set by FailNext.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetLogLimit makes the request log keep only the newest n requests (n <=
// 0: all of them, the default). A fake that serves for long, such as
// `bytebot fake-bytemark`, sets one so that its memory stays bounded.
func (s *Server) SetLogLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logLimit = max(n, 0)
	s.trimLog()
}

// logged returns the requests the log holds, oldest first.
func (s *Server) logged() []*Request {
	if s.logLimit > 0 && len(s.log) > s.logLimit {
		return s.log[len(s.log)-s.logLimit:]
	}
	return s.log
}

// trimLog drops the requests past the limit, once they are as many as the
// limit, so that appending stays cheap.
func (s *Server) trimLog() {
	if s.logLimit > 0 && len(s.log) >= 2*s.logLimit {
		s.log = append([]*Request(nil), s.logged()...)
	}
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	log := s.logged()
	out := make([]Request, len(log))
	for i, r := range log {
		out[i] = *r
		out[i].Header = r.Header.Clone()
	}
	return out
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Calls counts the logged requests with the given method ("" for any)
// whose path contains pathSubstring.
func (s *Server) Calls(method, pathSubstring string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.logged() {
		if (method == "" || strings.EqualFold(method, r.Method)) && strings.Contains(r.Path, pathSubstring) {
			n++
		}
	}
	return n
}

// ExpireSessions ends every session at once, so that the next API
// request with a session token gets 401 and GET /session/{token} gets 404.
// API keys keep working.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// Sessions returns how many sessions are live now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	n := 0
	for _, ss := range s.sessions {
		if now.Before(ss.expires) {
			n++
		}
	}
	return n
}

// AddUser lets username log in with password (in addition to the demo
// user). The user sees what the demo user sees.
func (s *Server) AddUser(username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[username] = password
}

// AddAPIKey makes key an accepted API key (sent as Bearer apikey.<key>).
func (s *Server) AddAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKeys[key] = true
}

// RevokeAPIKey stops key from being accepted.
func (s *Server) RevokeAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.apiKeys, key)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// normalisePath collapses repeated slashes and drops a trailing one, so
// that //session (sent by the official client for an endpoint with a
// trailing slash) is /session rather than a redirect.
func normalisePath(p string) (string, []string) {
	var segs []string
	for seg := range strings.SplitSeq(p, "/") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	return "/" + strings.Join(segs, "/"), segs
}

// serveHTTP logs the request, applies faults and latency, and routes it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeText(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	clean, segs := normalisePath(r.URL.Path)
	isAuth := len(segs) > 0 && segs[0] == "session"

	s.mu.Lock()
	entry := &Request{
		Time:   s.now(),
		Method: r.Method,
		Path:   clean,
		Query:  r.URL.RawQuery,
		Body:   string(body),
		Header: r.Header.Clone(),
		Auth:   AuthNone,
	}
	s.log = append(s.log, entry)
	s.trimLog()
	f := s.matchFault(r.Method, clean)
	latency := s.latency
	s.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		entry.Status = rec.status
		s.mu.Unlock()
	}()

	if f != nil {
		s.mu.Lock()
		entry.Injected = true
		s.mu.Unlock()
		writeFault(rec, f.status)
		return
	}
	if isAuth {
		s.serveAuth(rec, r, segs[1:], body)
		return
	}
	if latency > 0 && !s.wait(r.Context(), latency) {
		writeText(rec, http.StatusServiceUnavailable, "server closing")
		return
	}
	s.serveBrain(rec, r, entry, segs, body)
}

// wait sleeps for d unless ctx ends or the server closes first; it
// reports whether the full delay passed.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// matchFault returns the fault rule that takes this request, if any, and
// uses one of its shots. s.mu must be held.
func (s *Server) matchFault(method, p string) *fault {
	for i, f := range s.faults {
		if f.method != "" && f.method != "*" && f.method != method {
			continue
		}
		if !matchPattern(f.pattern, p) {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// matchPattern implements the FailNext path pattern.
func matchPattern(pattern, p string) bool {
	if !strings.Contains(pattern, "*") {
		return strings.Contains(p, pattern)
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(p, parts[0]) {
		return false
	}
	rest := p[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return false
		}
		rest = rest[i+len(part):]
	}
	return strings.HasSuffix(rest, last)
}
