package bytemark_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/internal/logtest"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authServer fakes POST /session, handing out tok-1, tok-2, … and
// checking the request; the API side accepts tokens for which valid
// returns true.
type authServer struct {
	t      *testing.T
	mu     sync.Mutex
	logins int
	gate   func() // runs before a login is answered, if set
}

func (a *authServer) handle(w http.ResponseWriter, r *http.Request) {
	t := a.t
	testMethod(t, r, "POST")
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("login sent Authorization %q", got)
	}
	if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("login Content-Type = %q, want %q", got, want)
	}
	if got, want := r.Header.Get("Accept"), "text/plain"; got != want {
		t.Errorf("login Accept = %q, want %q", got, want)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		t.Errorf("login body: %v", err)
	}
	want := map[string]any{"username": "alice", "password": "s3cret", "validity": "300"}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("login body = %v, want %v (all strings)", body, want)
	}
	if a.gate != nil {
		a.gate()
	}
	a.mu.Lock()
	a.logins++
	n := a.logins
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "tok-%d", n)
}

func (a *authServer) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.logins
}

// setupSession returns a client that logs in with a password against a
// fake auth host, with the clock.
func setupSession(t *testing.T, clk *clock) (*bytemark.Client, *http.ServeMux, *authServer) {
	c, mux := setup(t, withSession, func(o *bytemark.Options) { o.Now = clk.Now })
	a := &authServer{t: t}
	mux.HandleFunc(authPath+"/session", a.handle)
	return c, mux, a
}

// TestSessionRenewal checks that the session is reused while the API
// keeps extending it, and renewed before five minutes without use.
func TestSessionRenewal(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, mux, auth := setupSession(t, clk)
	var mu sync.Mutex
	var seen []string
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		testHeaders(t, r, r.Header.Get("Authorization"))
		fmt.Fprint(w, `[]`)
	})
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "Bearer tok-1"},               // first login
		{3 * time.Minute, "Bearer tok-1"}, // 3m since issue
		{3 * time.Minute, "Bearer tok-1"}, // 6m since issue, but 3m since last use: extended
		{3*time.Minute + 59*time.Second, "Bearer tok-1"},
		{4 * time.Minute, "Bearer tok-2"}, // 4m unused: renewed before the 5m expiry
		{time.Second, "Bearer tok-2"},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if err := c.Ping(t.Context()); err != nil {
			t.Fatalf("step %d: Ping: %v", i, err)
		}
		mu.Lock()
		got := seen[len(seen)-1]
		mu.Unlock()
		if got != s.want {
			t.Errorf("step %d (+%s): Authorization %q, want %q", i, s.advance, got, s.want)
		}
	}
	if got := auth.count(); got != 2 {
		t.Errorf("%d logins, want 2", got)
	}
}

// TestSessionRelogin checks that a 401 leads to one fresh login and one
// retry, for a write too, and that a second 401 is returned.
func TestSessionRelogin(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, mux, auth := setupSession(t, clk)
	var mu sync.Mutex
	var puts []string
	revoked := map[string]bool{}
	mux.HandleFunc("PUT "+vmPath, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tok := r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		puts = append(puts, tok+" "+string(b))
		if revoked[tok] {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, onJSON)
	})
	if err := c.StartServer(t.Context(), "web1"); err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	mu.Lock()
	revoked["Bearer tok-1"] = true // the session ends early, server side
	mu.Unlock()
	if err := c.StartServer(t.Context(), "web1"); err != nil {
		t.Fatalf("StartServer after revocation: %v", err)
	}
	body := `{"autoreboot_on":true,"power_on":true}`
	want := []string{"Bearer tok-1 " + body, "Bearer tok-1 " + body, "Bearer tok-2 " + body}
	if fmt.Sprint(puts) != fmt.Sprint(want) {
		t.Errorf("PUTs = %q, want %q", puts, want)
	}

	// Every token refused: one re-login, one retry, then the 401.
	mu.Lock()
	revoked["Bearer tok-2"], revoked["Bearer tok-3"], revoked["Bearer tok-4"] = true, true, true
	puts = nil
	mu.Unlock()
	err := c.StartServer(t.Context(), "web1")
	if !bytemark.IsUnauthorized(err) {
		t.Errorf("StartServer error = %v, want 401", err)
	}
	if got := auth.count(); got != 3 {
		t.Errorf("%d logins, want 3", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(puts) != 2 {
		t.Errorf("PUTs = %q, want 2", puts)
	}
}

// TestAPIKeyNeverContactsAuth checks the API key header and that a 401
// with a key is final.
func TestAPIKeyNeverContactsAuth(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc(authPath+"/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("auth host contacted: %s %s", r.Method, r.URL.Path)
	})
	var n atomic.Int32
	mux.HandleFunc("PUT "+vmPath, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		testHeaders(t, r, "Bearer apikey."+testAPIKey)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	})
	if err := c.StopServer(t.Context(), "web1"); !bytemark.IsUnauthorized(err) || n.Load() != 1 {
		t.Errorf("StopServer = %v after %d requests, want one 401", err, n.Load())
	}
}

// TestOneLoginForConcurrentCallers checks that 50 callers starting at once
// share a single login.
func TestOneLoginForConcurrentCallers(t *testing.T) {
	t.Parallel()
	const callers = 50
	clk := newClock()
	c, mux, auth := setupSession(t, clk)
	var started sync.WaitGroup
	started.Add(callers)
	auth.gate = started.Wait // answer once every caller is waiting
	mux.HandleFunc("GET "+vmPath, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer tok-1" {
			t.Errorf("Authorization = %q", got)
		}
		fmt.Fprint(w, onJSON)
	})
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			started.Done()
			if _, err := c.GetServer(t.Context(), "web1"); err != nil {
				t.Errorf("GetServer: %v", err)
			}
		})
	}
	wg.Wait()
	if got := auth.count(); got != 1 {
		t.Errorf("POST /session made %d times, want 1", got)
	}
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, withSession)
	mux.HandleFunc(authPath+"/session", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Bad login credentials", http.StatusForbidden)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("API contacted without a session: %s %s", r.Method, r.URL.Path)
	})
	err := c.Ping(t.Context())
	var e *bytemark.Error
	if !errors.As(err, &e) || e.Path != "/session" || e.Message != "Bad login credentials" {
		t.Errorf("Ping error = %v, want the auth host's refusal", err)
	}
}

// TestSecretsNeverShown checks that the password, session token and API
// key appear in no error and no log line, even when a server echoes them.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const (
		password = "pw-SECRET-7c1f9e"
		token    = "tok-SECRET-5d2a8b"
		apiKey   = "key-SECRET-3e4f6a"
	)
	secrets := []string{password, token, apiKey}
	var logs logtest.Buffer
	logger := logs.JSONLogger()

	var errs []error
	check := func(err error) {
		if err == nil {
			t.Error("want an error")
		}
		errs = append(errs, err)
	}

	// Session: the auth host refuses and echoes the request; then the API
	// echoes the token in a 400, a 401, a 404 and a 503.
	c, mux := setup(t, func(o *bytemark.Options) {
		o.APIKey, o.Username, o.Password, o.Logger = "", "alice", password, logger
	})
	var accept atomic.Bool
	mux.HandleFunc(authPath+"/session", func(w http.ResponseWriter, r *http.Request) {
		if !accept.Load() {
			b, _ := io.ReadAll(r.Body)
			http.Error(w, "Bad login credentials for "+string(b), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, token)
	})
	check(c.Ping(t.Context()))
	accept.Store(true)
	for _, status := range []int{400, 401, 404, 503} {
		mux.HandleFunc(fmt.Sprintf("GET /accounts/acme/groups/g%d/virtual_machines/web1", status), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"token":[%q],%q:["bad"],"error":%q}`, r.Header.Get("Authorization"), token, "session "+token+" "+password)
		})
		_, err := c.GetServer(t.Context(), fmt.Sprintf("web1.g%d", status))
		check(err)
		var e *bytemark.Error
		if errors.As(err, &e) {
			for k, v := range e.Problems {
				errs = append(errs, errors.New(k+" "+strings.Join(v, " ")))
			}
		}
	}

	// API key: a 403 echoing the header.
	k, kmux := setup(t, func(o *bytemark.Options) { o.APIKey, o.Logger = apiKey, logger })
	kmux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden for "+r.Header.Get("Authorization"), http.StatusForbidden)
	})
	check(k.StopServer(t.Context(), "web1"))
	_, err := k.GetServer(t.Context(), "web1")
	check(err)

	for _, err := range errs {
		for _, s := range secrets {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains a secret", err)
			}
		}
	}
	if logs.Len() == 0 {
		t.Error("nothing was logged; the check is vacuous")
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs contain secret %q:\n%s", s, logs.String())
		}
	}
}
