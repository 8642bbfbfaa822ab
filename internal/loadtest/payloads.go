package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Identities the harness uses; APPROVERS is set to approverID only.
const (
	teamID      = "T0LOAD"
	appID       = "A0LOAD"
	channelID   = "C0LOAD"
	userID      = "U0USER"     // types the measured slash commands
	requesterID = "U0REQ"      // asks for the purges that are then approved
	approverID  = "U0APPROVER" // clicks Approve
	formType    = "application/x-www-form-urlencoded"
	jsonType    = "application/json"
)

// slashBody is the form body Slack POSTs for "/bytemark <text>" typed by
// user (slack.md section 2), with a trigger ID unique to i.
func slashBody(user, text string, i int) []byte {
	v := url.Values{}
	// url.Values.Encode sorts the keys; Slack's order differs, which no
	// form parser cares about.
	v.Set("token", "gIkuvaNzQIHg97ATvDxqgjtO")
	v.Set("team_id", teamID)
	v.Set("team_domain", "loadtest")
	v.Set("channel_id", channelID)
	v.Set("channel_name", "ops")
	v.Set("user_id", user)
	v.Set("user_name", strings.ToLower(user))
	v.Set("command", "/bytemark")
	v.Set("text", text)
	v.Set("api_app_id", appID)
	v.Set("is_enterprise_install", "false")
	v.Set("response_url", "https://hooks.slack.com/commands/"+teamID+"/"+strconv.Itoa(100000+i)+"/loadtest")
	v.Set("trigger_id", fmt.Sprintf("%d.47445629121.%016x", 398738663015+i, i))
	return []byte(v.Encode())
}

// slashAck is the slash-command reply the bot gives when it has accepted
// (queued) the command: JSON posted in the channel, the command echoed.
type slashAck struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// checkQueued accepts a slash-command answer that says the work was queued
// or an approval is being prepared: an in_channel reply. Usage errors,
// "unavailable" and refusals are ephemeral.
func checkQueued(body []byte) error {
	var a slashAck
	if err := json.Unmarshal(body, &a); err != nil {
		return errors.New("not a JSON reply")
	}
	if a.ResponseType != "in_channel" {
		return fmt.Errorf("%s reply %q", a.ResponseType, truncate(a.Text, 60))
	}
	return nil
}

// checkAccepted accepts a webhook answer that says the delivery was
// accepted (every alert decided and committed).
func checkAccepted(body []byte) error {
	var a struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return errors.New("not a JSON answer")
	}
	if a.Status != "accepted" {
		return fmt.Errorf("status %q, error %q", a.Status, truncate(a.Error, 60))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// A ticket is an approval card the bot posted: what a click needs.
type ticket struct {
	ID        string // the Approve button's value
	BlockID   string // the buttons' block ID
	Channel   string
	TS        string // the card's message ts
	Requester string
}

// clickBody is the form body Slack POSTs when user clicks Approve on t's
// card: a block_actions payload (slack.md section 3), as bot/testdata has.
func clickBody(t ticket, user string, i int) []byte {
	type obj = map[string]any
	p := obj{
		"type":       "block_actions",
		"team":       obj{"id": teamID, "domain": "loadtest"},
		"user":       obj{"id": user, "username": strings.ToLower(user), "team_id": teamID},
		"api_app_id": appID,
		"token":      "9s8d9as89d8as9d8as989",
		"container": obj{"type": "message", "message_ts": t.TS, "channel_id": t.Channel,
			"is_ephemeral": false},
		"trigger_id":   fmt.Sprintf("%d.333649436676.%016x", 12321423423+i, i),
		"channel":      obj{"id": t.Channel, "name": "ops"},
		"message":      obj{"bot_id": "B0LOAD", "type": "message", "text": "Approval needed", "user": "U0BOT", "ts": t.TS},
		"response_url": "https://hooks.slack.com/actions/" + appID + "/" + strconv.Itoa(1000000+i) + "/loadtest",
		"actions": []obj{{
			"action_id": "approve", "block_id": t.BlockID, "value": t.ID, "type": "button", "style": "primary",
			"text":      obj{"type": "plain_text", "text": "Approve", "emoji": true},
			"action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), i%1000000),
		}},
	}
	js, _ := json.Marshal(p)
	return []byte(url.Values{"payload": {string(js)}}.Encode())
}

// The servers alerts name, round robin (the fake's demo data; db1 is left
// to the Approve clicks, whose purges delete it).
var alertServers = []string{"web1", "web2", "stage1.staging"}

// amAlert and amMessage are Alertmanager's webhook payload (slack.md
// section 6, version 4).
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

type amMessage struct {
	Receiver           string            `json:"receiver"`
	Status             string            `json:"status"`
	Alerts             []amAlert         `json:"alerts"`
	NotificationReason string            `json:"notification_reason"`
	GroupLabels        map[string]string `json:"groupLabels"`
	CommonLabels       map[string]string `json:"commonLabels"`
	CommonAnnotations  map[string]string `json:"commonAnnotations"`
	RouteLabels        map[string]string `json:"routeLabels"`
	ExternalURL        string            `json:"externalURL"`
	Version            string            `json:"version"`
	GroupKey           string            `json:"groupKey"`
	TruncatedAlerts    int               `json:"truncatedAlerts"`
}

// alertBody is delivery i of a run: n firing InstanceDown alerts, each
// with its own fingerprint and start time, so that no two alerts of a run
// are the same occurrence. label names the server (REBOOT_LABEL).
func alertBody(label string, n, i int, base time.Time) []byte {
	m := amMessage{
		Receiver:           "bytebot",
		Status:             "firing",
		NotificationReason: "new alerts added",
		GroupLabels:        map[string]string{"alertname": "InstanceDown"},
		CommonLabels:       map[string]string{"alertname": "InstanceDown", "job": "node", "severity": "critical"},
		CommonAnnotations:  map[string]string{},
		RouteLabels:        map[string]string{},
		ExternalURL:        "http://alertmanager.example.com:9093",
		Version:            "4",
		GroupKey:           `{}:{alertname="InstanceDown"}`,
		Alerts:             make([]amAlert, n),
	}
	startsAt := base.Add(time.Duration(i) * time.Second).UTC().Format(time.RFC3339)
	for k := range n {
		server := alertServers[(i+k)%len(alertServers)]
		instance := server + ".acme.uk0.bigv.io:9100"
		if !strings.Contains(server, ".") {
			instance = server + ".default.acme.uk0.bigv.io:9100"
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d", base.UnixNano(), i, k))
		m.Alerts[k] = amAlert{
			Status: "firing",
			Labels: map[string]string{"alertname": "InstanceDown", "instance": instance, "job": "node",
				"severity": "critical", label: server, "shard": strconv.Itoa(k)},
			Annotations: map[string]string{
				"summary":     instance + " is down",
				"description": instance + " of job node has been down for more than 5 minutes.",
			},
			StartsAt:     startsAt,
			EndsAt:       "0001-01-01T00:00:00Z",
			GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
			Fingerprint:  hex.EncodeToString(sum[:8]),
		}
	}
	js, _ := json.Marshal(m)
	return js
}
