package bytemarktest_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

func TestLogin(t *testing.T) {
	s := newFake(t)
	yubi := strings.Repeat("cbdefghijklnrtuv", 3)[:44]
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantBody    string // exact, for errors
		wantFactors []string
	}{
		{name: "password", path: "/session", body: `{"username":"demo","password":"correct-horse-battery-staple"}`,
			wantStatus: 200, wantFactors: []string{"password"}},
		{name: "validity as the CLI sends it", path: "/session", body: `{"username":"demo","password":"correct-horse-battery-staple","validity":"1800"}`,
			wantStatus: 200, wantFactors: []string{"password"}},
		{name: "validity as a number", path: "/session", body: `{"username":"demo","password":"correct-horse-battery-staple","validity":600}`,
			wantStatus: 200, wantFactors: []string{"password"}},
		{name: "yubikey echoed in factors", path: "/session", body: `{"username":"demo","password":"correct-horse-battery-staple","yubikey":"` + yubi + `"}`,
			wantStatus: 200, wantFactors: []string{"password", "yubikey"}},
		{name: "2fa echoed in factors", path: "/session", body: `{"username":"demo","password":"correct-horse-battery-staple","2fa":"123456"}`,
			wantStatus: 200, wantFactors: []string{"password", "2fa"}},
		{name: "double slash from a trailing-slash endpoint", path: "//session", body: `{"username":"demo","password":"correct-horse-battery-staple"}`,
			wantStatus: 200, wantFactors: []string{"password"}},
		{name: "bad password", path: "/session", body: `{"username":"demo","password":"wrong"}`,
			wantStatus: 401, wantBody: "Bad login credentials"},
		{name: "unknown user", path: "/session", body: `{"username":"mallory","password":"correct-horse-battery-staple"}`,
			wantStatus: 401, wantBody: "Bad login credentials"},
		{name: "missing password", path: "/session", body: `{"username":"demo"}`,
			wantStatus: 400, wantBody: "Badly-formed parameters"},
		{name: "not JSON", path: "/session", body: `username=demo`,
			wantStatus: 400, wantBody: "Badly-formed parameters"},
		{name: "bad validity", path: "/session", body: `{"username":"demo","password":"correct-horse-battery-staple","validity":"soon"}`,
			wantStatus: 400},
		{name: "bad yubikey", path: "/session", body: `{"username":"demo","password":"correct-horse-battery-staple","yubikey":"123"}`,
			wantStatus: 401},
		{name: "form content type", path: "/session", contentType: "application/x-www-form-urlencoded", body: `{"username":"demo","password":"correct-horse-battery-staple"}`,
			wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			r := sendCT(t, s, "", ct, "POST", tt.path, tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d body %q; want %d", r.status, r.body, tt.wantStatus)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Errorf("Content-Type %q; want text/plain", r.header.Get("Content-Type"))
			}
			if tt.wantStatus != 200 {
				if tt.wantBody != "" && r.body != tt.wantBody {
					t.Errorf("body %q; want %q", r.body, tt.wantBody)
				}
				return
			}
			token := r.body
			if token == "" || strings.TrimSpace(token) != token || strings.ContainsAny(token, "\"{") {
				t.Fatalf("token %q; want a bare token without whitespace", token)
			}
			sr := send(t, s, "", "GET", "/session/"+token, "")
			mustStatus(t, sr, 200, "GET /session/{token}")
			var info struct {
				Username         string   `json:"username"`
				Factors          []string `json:"factors"`
				GroupMemberships []string `json:"group_memberships"`
			}
			sr.decode(t, &info)
			if info.Username != bytemarktest.Username || strings.Join(info.Factors, ",") != strings.Join(tt.wantFactors, ",") || info.GroupMemberships == nil {
				t.Errorf("session = %+v; want user %s, factors %v, group_memberships []", info, bytemarktest.Username, tt.wantFactors)
			}
			mustStatus(t, send(t, s, "Bearer "+token, "GET", "/accounts", ""), 200, "API with the token")
		})
	}
	mustStatus(t, send(t, s, "", "GET", "/session/nosuchtoken", ""), 404, "unknown session")
	mustStatus(t, send(t, s, "", "GET", "//session/nosuchtoken", ""), 404, "unknown session, double slash")
}

// clock is an adjustable clock for SetNow.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSessionExpiry(t *testing.T) {
	type step struct {
		advance time.Duration
		do      string // "api", "session" (GET /session/{t})
		want    int
	}
	tests := []struct {
		name     string
		validity any
		steps    []step
	}{
		{name: "five minutes by default", steps: []step{
			{4*time.Minute + 59*time.Second, "api", 200},
			{5*time.Minute + time.Second, "api", 401},
		}},
		{name: "expires untouched", steps: []step{
			{5 * time.Minute, "api", 401},
			{0, "session", 404},
		}},
		{name: "each API request extends by five minutes", steps: []step{
			{4 * time.Minute, "api", 200}, // expires at 9m
			{4 * time.Minute, "api", 200}, // 8m: expires at 13m
			{4 * time.Minute, "api", 200}, // 12m: expires at 17m
			{5*time.Minute + time.Second, "api", 401},
		}},
		{name: "GET session extends too", steps: []step{
			{4 * time.Minute, "session", 200},
			{4 * time.Minute, "api", 200},
		}},
		{name: "validity 1800", validity: "1800", steps: []step{
			{29 * time.Minute, "api", 200},
			{5*time.Minute + time.Second, "api", 401},
		}},
		{name: "validity clamped to an hour", validity: "86400", steps: []step{
			{59 * time.Minute, "session", 200},
			{6 * time.Minute, "api", 401},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			c := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			s.SetNow(c.Now)
			token := login(t, s, tt.validity)
			for i, st := range tt.steps {
				c.advance(st.advance)
				var r reply
				if st.do == "session" {
					r = send(t, s, "", "GET", "/session/"+token, "")
				} else {
					r = send(t, s, "Bearer "+token, "GET", "/accounts", "")
				}
				if r.status != st.want {
					t.Fatalf("step %d (%s after +%s): status %d; want %d", i, st.do, st.advance, r.status, st.want)
				}
			}
		})
	}
}

func TestAPIAuth(t *testing.T) {
	s := newFake(t)
	token := login(t, s, nil)
	tests := []struct {
		name, auth, path string
		want             int
		wantKind         string
	}{
		{"no header", "", "/accounts", 401, bytemarktest.AuthNone},
		{"unknown token", "Bearer nosuchtoken", "/accounts", 401, bytemarktest.AuthInvalid},
		{"basic auth", "Basic ZGVtbzpkZW1v", "/accounts", 401, bytemarktest.AuthInvalid},
		{"session token", "Bearer " + token, "/accounts", 200, bytemarktest.AuthSession},
		{"api key", apiKeyAuth, "/accounts", 200, bytemarktest.AuthAPIKey},
		{"unknown api key", "Bearer apikey.nope", "/accounts", 401, bytemarktest.AuthInvalid},
		{"bare api key", "Bearer " + bytemarktest.APIKey, "/accounts", 401, bytemarktest.AuthInvalid},
		{"definitions without auth", "", "/definitions", 200, bytemarktest.AuthNone},
		{"401 hides existence", "", "/accounts/hidden", 401, bytemarktest.AuthNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ResetRequests()
			r := send(t, s, tt.auth, "GET", tt.path, "")
			if r.status != tt.want {
				t.Fatalf("status %d body %q; want %d", r.status, r.body, tt.want)
			}
			reqs := s.Requests()
			if len(reqs) != 1 || reqs[0].Auth != tt.wantKind || reqs[0].Status != tt.want {
				t.Errorf("log = %+v; want one request with Auth %q and Status %d", reqs, tt.wantKind, tt.want)
			}
		})
	}

	s.ExpireSessions()
	mustStatus(t, send(t, s, "Bearer "+token, "GET", "/accounts", ""), 401, "session after ExpireSessions")
	mustStatus(t, send(t, s, "", "GET", "/session/"+token, ""), 404, "GET session after ExpireSessions")
	mustStatus(t, api(t, s, "GET", "/accounts", ""), 200, "API key after ExpireSessions")
	if n := s.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d after ExpireSessions", n)
	}

	s.AddAPIKey("second")
	mustStatus(t, send(t, s, "Bearer apikey.second", "GET", "/accounts", ""), 200, "added key")
	s.RevokeAPIKey("second")
	mustStatus(t, send(t, s, "Bearer apikey.second", "GET", "/accounts", ""), 401, "revoked key")
	s.AddUser("alice", "pw")
	r := send(t, s, "", "POST", "/session", `{"username":"alice","password":"pw"}`)
	mustStatus(t, r, 200, "added user login")
}

func TestDefinitions(t *testing.T) {
	s := newFake(t)
	r := send(t, s, "", "GET", "/definitions", "")
	mustStatus(t, r, 200, "definitions")
	var defs []struct {
		ID   string `json:"id"`
		Data any    `json:"data"`
	}
	r.decode(t, &defs)
	got := map[string]any{}
	for _, d := range defs {
		got[d.ID] = d.Data
	}
	for _, id := range []string{"distributions", "storage_grades", "zone_names", "hardware_profiles", "keymaps", "sendkeys"} {
		if _, ok := got[id].([]any); !ok {
			t.Errorf("definitions lack the list %q: %s", id, r.body)
		}
	}
	grades, _ := got["storage_grades"].([]any)
	if len(grades) != 3 {
		t.Errorf("storage_grades = %v; want archive, sata, ssd", grades)
	}
	mustStatus(t, send(t, s, "", "POST", "/definitions", "{}"), http.StatusMethodNotAllowed, "POST definitions")
}
