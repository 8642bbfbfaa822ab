package slackapp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bot"
)

// TestManifest checks the manifest against the routes Handler serves: every
// URL in it reaches a Slack handler (which refuses the unsigned request
// with 401, rather than 404 or 405).
func TestManifest(t *testing.T) {
	b, err := Manifest("https://bot.example.com/", false)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest is not JSON: %v\n%s", err, b)
	}
	if got, want := len(m.Features.SlashCommands), 1; got != want {
		t.Fatalf("slash commands = %d; want %d", got, want)
	}
	cmd := m.Features.SlashCommands[0]
	if cmd.Command != "/bytemark" {
		t.Errorf("command = %q; want /bytemark", cmd.Command)
	}
	for _, scope := range []string{"commands", "chat:write", "chat:write.public", "usergroups:read"} {
		if !slices.Contains(m.OAuthConfig.Scopes.Bot, scope) {
			t.Errorf("bot scopes %v lack %q", m.OAuthConfig.Scopes.Bot, scope)
		}
	}
	if !m.Settings.Interactivity.IsEnabled || m.Settings.SocketModeEnabled {
		t.Errorf("settings = %+v; want interactivity on, socket mode off", m.Settings)
	}
	h := New(bot.New(bot.Config{SigningSecret: "s"}, nil, nil, nil, nil)).Handler()
	for _, raw := range []string{cmd.URL, m.Settings.Interactivity.RequestURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Host != "bot.example.com" || u.Scheme != "https" {
			t.Errorf("URL %q is not on https://bot.example.com", raw)
			continue
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, u.Path, strings.NewReader("text=x")))
		if w.Code != http.StatusUnauthorized {
			t.Errorf("POST %s = %d; want 401 from a Slack handler", u.Path, w.Code)
		}
	}

	b, err = Manifest("", true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "http") {
		t.Errorf("socket mode manifest has URLs:\n%s", b)
	}
	var sm manifest
	json.Unmarshal(b, &sm)
	if !sm.Settings.SocketModeEnabled || !sm.Settings.Interactivity.IsEnabled {
		t.Errorf("socket mode settings = %+v", sm.Settings)
	}
	for _, bad := range []string{"", "bot.example.com", "ftp://x", "https://x/?a=b", "http://bot.example.com", "https://u:p@x"} {
		_, err := Manifest(bad, false)
		if err == nil {
			t.Errorf("Manifest(%q) = nil error; want one", bad)
			continue
		}
		if strings.Contains(err.Error(), "bot:") || strings.Contains(err.Error(), "manifest:") {
			t.Errorf("Manifest(%q) error %q carries an internal prefix", bad, err)
		}
	}
	if _, err := Manifest("http://bot.example.com", false); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("Manifest(http://…) error = %v; want one that asks for https", err)
	}
}

// TestManifestReadable checks that the manifest a person pastes into Slack
// reads as typed: no \u003c for the usage hint's <server>.
func TestManifestReadable(t *testing.T) {
	b, err := Manifest("https://bot.example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `\u00`) {
		t.Errorf("manifest has JSON escapes a person can't read:\n%s", b)
	}
	if !strings.Contains(string(b), "show <server>") {
		t.Errorf("manifest lacks the usage hint as typed:\n%s", b)
	}
}
