package slacktest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

var seq atomic.Int64

// uniqueTriggerID is a trigger_id like Slack's, unique per call.
func uniqueTriggerID() string {
	n := seq.Add(1)
	return fmt.Sprintf("%d.738474920.%016x", 13345224609+n, uint64(n)<<20|uint64(time.Now().UnixNano())&0xfffff)
}

// SlashCommand is what Slack POSTs for "/bytemark <text>" (shared/slack.md
// section 2).
type SlashCommand struct {
	TeamID, TeamDomain       string
	ChannelID, ChannelName   string
	UserID, UserName         string
	Command, Text            string
	ResponseURL, TriggerID   string
	APIAppID                 string
	EnterpriseID, Enterprise string
}

// Slash is a slash command typed by user in channel in the default
// workspace, with a trigger_id of its own and a response_url on
// hooks.slack.com (which nothing answers: use API.Slash for one the
// stand-in serves).
func Slash(user, channel, text string) SlashCommand {
	n := seq.Add(1)
	return SlashCommand{
		TeamID: DefaultTeam, TeamDomain: DefaultTeamDomain, ChannelID: channel, ChannelName: "ops",
		UserID: user, UserName: strings.ToLower(user), Command: "/bytemark", Text: text,
		ResponseURL: fmt.Sprintf("https://hooks.slack.com/commands/%s/%d/%s", DefaultTeam, 100000+n, randomHex(24)),
		TriggerID:   uniqueTriggerID(), APIAppID: DefaultAppID,
	}
}

// Slash is a slash command typed by user in channel in the stand-in's
// workspace: its response_url and trigger_id are the stand-in's.
func (a *API) Slash(user, channel, text string) SlashCommand {
	c := Slash(user, channel, text)
	c.TeamID, c.TeamDomain, c.APIAppID = a.o.TeamID, a.o.TeamDomain, a.o.AppID
	c.ResponseURL = a.ResponseURL(user, channel)
	c.TriggerID = a.TriggerID()
	return c
}

// Form is the command's form fields.
func (c SlashCommand) Form() url.Values {
	v := url.Values{}
	// url.Values.Encode sorts the keys; Slack's order differs, which no
	// form parser cares about.
	v.Set("token", "gIkuvaNzQIHg97ATvDxqgjtO")
	v.Set("team_id", c.TeamID)
	v.Set("team_domain", c.TeamDomain)
	if c.EnterpriseID != "" {
		v.Set("enterprise_id", c.EnterpriseID)
		v.Set("enterprise_name", c.Enterprise)
	}
	v.Set("channel_id", c.ChannelID)
	v.Set("channel_name", c.ChannelName)
	v.Set("user_id", c.UserID)
	v.Set("user_name", c.UserName)
	v.Set("command", c.Command)
	v.Set("text", c.Text)
	v.Set("api_app_id", c.APIAppID)
	v.Set("is_enterprise_install", "false")
	v.Set("response_url", c.ResponseURL)
	v.Set("trigger_id", c.TriggerID)
	return v
}

// Body is the command's form body.
func (c SlashCommand) Body() []byte { return []byte(c.Form().Encode()) }

// SlashBody is the body of a slash command typed by user in channel.
func SlashBody(user, channel, text string) []byte { return Slash(user, channel, text).Body() }

// Click is a block_actions payload: a person pressing a button of a
// message (shared/slack.md section 3).
type Click struct {
	TeamID, TeamDomain string
	UserID             string
	ChannelID          string
	MessageTS          string // the message clicked
	MessageText        string
	MessageBlocks      string // JSON; the message's blocks as the bot posted them
	ActionID, BlockID  string
	Value              string
	TriggerID          string
	ResponseURL        string
	APIAppID           string
	BotID              string
}

// ClickOn is user pressing the button actionID of card c in channel (the
// channel the click comes from: not necessarily the card's), in the
// default workspace. The button's value is c.Ticket and its block
// c.BlockID, so that a test can forge either.
func ClickOn(user, channel string, c Card, actionID string) Click {
	n := seq.Add(1)
	return Click{
		TeamID: DefaultTeam, TeamDomain: DefaultTeamDomain, UserID: user, ChannelID: channel,
		MessageTS: c.TS, MessageText: c.Text, MessageBlocks: c.Blocks,
		ActionID: actionID, BlockID: c.BlockID, Value: c.Ticket,
		TriggerID:   uniqueTriggerID(),
		ResponseURL: fmt.Sprintf("https://hooks.slack.com/actions/%s/%d/%s", DefaultAppID, 1000000+n, randomHex(24)),
		APIAppID:    DefaultAppID, BotID: DefaultBotID,
	}
}

// Click is user pressing button actionID of card c in channel, in the
// stand-in's workspace: its response_url and trigger_id are the stand-in's.
func (a *API) Click(user, channel string, c Card, actionID string) Click {
	k := ClickOn(user, channel, c, actionID)
	k.TeamID, k.TeamDomain, k.APIAppID, k.BotID = a.o.TeamID, a.o.TeamDomain, a.o.AppID, a.o.BotID
	k.ResponseURL = a.ResponseURL(user, channel)
	k.TriggerID = a.TriggerID()
	return k
}

// Payload is the click's JSON payload.
func (k Click) Payload() []byte {
	type obj = map[string]any
	msg := obj{"bot_id": k.BotID, "type": "message", "text": k.MessageText, "user": DefaultBotUser, "ts": k.MessageTS}
	if k.MessageText == "" {
		msg["text"] = "Approval needed"
	}
	if k.MessageBlocks != "" {
		msg["blocks"] = json.RawMessage(k.MessageBlocks)
	}
	text := k.ActionID
	if text != "" {
		text = strings.ToUpper(text[:1]) + text[1:]
	}
	p := obj{
		"type":       "block_actions",
		"team":       obj{"id": k.TeamID, "domain": k.TeamDomain},
		"user":       obj{"id": k.UserID, "username": strings.ToLower(k.UserID), "team_id": k.TeamID},
		"api_app_id": k.APIAppID,
		"token":      "9s8d9as89d8as9d8as989",
		"container": obj{"type": "message", "message_ts": k.MessageTS, "channel_id": k.ChannelID,
			"is_ephemeral": false},
		"trigger_id":   k.TriggerID,
		"channel":      obj{"id": k.ChannelID, "name": "ops"},
		"message":      msg,
		"response_url": k.ResponseURL,
		"actions": []obj{{
			"action_id": k.ActionID, "block_id": k.BlockID, "value": k.Value, "type": "button",
			"text":      obj{"type": "plain_text", "text": text, "emoji": true},
			"action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), seq.Add(1)%1000000),
		}},
	}
	js, _ := json.Marshal(p)
	return js
}

// Body is the click's form body: payload=<JSON>.
func (k Click) Body() []byte { return PayloadBody(k.Payload()) }

// ClickBody is the body of user pressing actionID on card c in channel.
func ClickBody(user, channel string, c Card, actionID string) []byte {
	return ClickOn(user, channel, c, actionID).Body()
}

// PayloadBody is the form body Slack POSTs an interaction payload in.
func PayloadBody(payload []byte) []byte {
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

// ViewSubmission is a view_submission payload: a person pressing a
// modal's submit button.
type ViewSubmission struct {
	TeamID    string
	UserID    string
	View      View
	Values    map[string]map[string]string // block_id → action_id → the typed value (plain_text_input)
	TriggerID string
	APIAppID  string
}

// Submit is user submitting view v with values (block_id → action_id →
// text), in the stand-in's workspace.
func (a *API) Submit(user string, v View, values map[string]map[string]string) ViewSubmission {
	return ViewSubmission{TeamID: a.o.TeamID, UserID: user, View: v, Values: values, TriggerID: a.TriggerID(), APIAppID: a.o.AppID}
}

// Payload is the submission's JSON payload.
func (s ViewSubmission) Payload() []byte {
	type obj = map[string]any
	team := s.TeamID
	if team == "" {
		team = DefaultTeam
	}
	app := s.APIAppID
	if app == "" {
		app = DefaultAppID
	}
	values := obj{}
	for block, actions := range s.Values {
		vs := obj{}
		for action, text := range actions {
			vs[action] = obj{"type": "plain_text_input", "value": text}
		}
		values[block] = vs
	}
	var blocks any = []any{}
	if s.View.Blocks != "" {
		blocks = json.RawMessage(s.View.Blocks)
	}
	view := obj{
		"id": s.View.ID, "team_id": team, "type": "modal", "blocks": blocks,
		"private_metadata": s.View.PrivateMetadata, "callback_id": s.View.CallbackID,
		"state": obj{"values": values}, "hash": s.View.Hash,
		"title":        obj{"type": "plain_text", "text": s.View.Title},
		"root_view_id": s.View.RootID, "external_id": s.View.ExternalID, "app_id": app,
	}
	p := obj{
		"type":          "view_submission",
		"team":          obj{"id": team, "domain": DefaultTeamDomain},
		"user":          obj{"id": s.UserID, "username": strings.ToLower(s.UserID), "team_id": team},
		"api_app_id":    app,
		"token":         "9s8d9as89d8as9d8as989",
		"trigger_id":    s.TriggerID,
		"view":          view,
		"response_urls": []any{},
	}
	js, _ := json.Marshal(p)
	return js
}

// Body is the submission's form body: payload=<JSON>.
func (s ViewSubmission) Body() []byte { return PayloadBody(s.Payload()) }
