package slackapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Paths of the Slack routes that Handler serves.
const (
	CommandsPath     = "/slack/commands"
	InteractionsPath = "/slack/interactions"
)

// The Slack app manifest's shape (https://docs.slack.dev/reference/app-manifest),
// with only the fields this bot sets.
type manifest struct {
	Metadata    manifestMetadata    `json:"_metadata"`
	Display     manifestDisplay     `json:"display_information"`
	Features    manifestFeatures    `json:"features"`
	OAuthConfig manifestOAuthConfig `json:"oauth_config"`
	Settings    manifestSettings    `json:"settings"`
}

type manifestMetadata struct {
	MajorVersion int `json:"major_version"`
	MinorVersion int `json:"minor_version"`
}

type manifestDisplay struct {
	Name            string `json:"name"`
	Description     string `json:"description"`
	BackgroundColor string `json:"background_color"`
}

type manifestFeatures struct {
	BotUser       manifestBotUser        `json:"bot_user"`
	SlashCommands []manifestSlashCommand `json:"slash_commands"`
}

type manifestBotUser struct {
	DisplayName  string `json:"display_name"`
	AlwaysOnline bool   `json:"always_online"`
}

type manifestSlashCommand struct {
	Command      string `json:"command"`
	URL          string `json:"url,omitempty"`
	Description  string `json:"description"`
	UsageHint    string `json:"usage_hint"`
	ShouldEscape bool   `json:"should_escape"`
}

type manifestOAuthConfig struct {
	Scopes manifestScopes `json:"scopes"`
}

type manifestScopes struct {
	Bot []string `json:"bot"`
}

type manifestSettings struct {
	Interactivity        manifestInteractivity `json:"interactivity"`
	OrgDeployEnabled     bool                  `json:"org_deploy_enabled"`
	SocketModeEnabled    bool                  `json:"socket_mode_enabled"`
	TokenRotationEnabled bool                  `json:"token_rotation_enabled"`
}

type manifestInteractivity struct {
	IsEnabled  bool   `json:"is_enabled"`
	RequestURL string `json:"request_url,omitempty"`
}

// Manifest returns the Slack app manifest (JSON) for a bot served at
// baseURL (e.g. "https://bytebot.example.com"): the /bytemark slash command
// at baseURL/slack/commands, interactivity at baseURL/slack/interactions,
// and the bot scopes it needs (commands, chat:write, chat:write.public,
// usergroups:read). With socketMode the manifest has no URLs and enables
// Socket Mode; baseURL is then ignored.
func Manifest(baseURL string, socketMode bool) ([]byte, error) {
	m := manifest{
		Metadata: manifestMetadata{MajorVersion: 1, MinorVersion: 1},
		Display: manifestDisplay{
			Name:            "Bytemark",
			Description:     "Chat-ops for Bytemark Cloud servers: list, show, power and discs, with approvals for destructive actions",
			BackgroundColor: "#1d1c1d",
		},
		Features: manifestFeatures{
			BotUser: manifestBotUser{DisplayName: "bytemark"},
			SlashCommands: []manifestSlashCommand{{
				Command:     "/bytemark",
				Description: "Manage Bytemark Cloud servers",
				UsageHint:   "help | list | show <server> | restart <server> | purge <server> | approvals",
			}},
		},
		OAuthConfig: manifestOAuthConfig{Scopes: manifestScopes{
			Bot: []string{"commands", "chat:write", "chat:write.public", "usergroups:read"},
		}},
		Settings: manifestSettings{
			Interactivity:     manifestInteractivity{IsEnabled: true},
			SocketModeEnabled: socketMode,
		},
	}
	if !socketMode {
		u, err := url.Parse(baseURL)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
			(u.Scheme != "https" && u.Scheme != "http") {
			return nil, fmt.Errorf("%q is not a base URL such as https://bot.example.com", baseURL)
		}
		if u.Scheme != "https" {
			// Slack sends commands and clicks only to https request URLs.
			return nil, fmt.Errorf("%q: Slack only calls https:// URLs; serve the bot behind TLS (or use --socket-mode)", baseURL)
		}
		base := strings.TrimSuffix(u.String(), "/")
		m.Features.SlashCommands[0].URL = base + CommandsPath
		m.Settings.Interactivity.RequestURL = base + InteractionsPath
	}
	// Readable JSON: the usage hint's <server> stays as typed, not \u003c.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
