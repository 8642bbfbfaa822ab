package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/internal/slacktest"
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
// user in the harness's channel (slacktest builds it, with a trigger ID of
// its own). responseURL is its response_url; "" makes one up that
// leads nowhere.
func slashBody(user, text string, i int, responseURL string) []byte {
	c := slacktest.Slash(user, channelID, text)
	c.TeamID, c.TeamDomain, c.APIAppID = teamID, "loadtest", appID
	c.ResponseURL = responseURL
	if c.ResponseURL == "" {
		c.ResponseURL = "https://hooks.slack.com/commands/" + teamID + "/" + strconv.Itoa(100000+i) + "/loadtest"
	}
	return c.Body()
}

// slashAck is the slash-command reply the bot gives when it has accepted
// (queued) the command.
type slashAck struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// checkQueued accepts a slash-command answer that says the work was queued
// or an approval is being prepared ("Working on …", "… preparing the
// request…"; ephemeral, like every answer, and replaced later through the
// response_url). Usage errors, "unavailable" and refusals say otherwise.
func checkQueued(body []byte) error {
	var a slashAck
	if err := json.Unmarshal(body, &a); err != nil {
		return errors.New("not a JSON reply")
	}
	if !strings.HasPrefix(a.Text, "Working on ") && !strings.Contains(a.Text, "preparing the request") {
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
type ticket = slacktest.Card

// clickBody is the form body Slack POSTs when user clicks Approve on t's
// card: a block_actions payload (slack.md section 3).
// With api (the Slack stand-in), its trigger_id and response_url are
// the stand-in's, so that the click can open the type-the-name modal.
func clickBody(api *slacktest.API, t ticket, user string, i int) []byte {
	if api != nil {
		return api.Click(user, t.Channel, t, "approve").Body()
	}
	k := slacktest.ClickOn(user, t.Channel, t, "approve")
	k.TeamID, k.TeamDomain, k.APIAppID, k.BotID = teamID, "loadtest", appID, "B0LOAD"
	k.ResponseURL = "https://hooks.slack.com/actions/" + appID + "/" + strconv.Itoa(1000000+i) + "/loadtest"
	return k.Body()
}

// submitBody is the view_submission Slack POSTs when user types name into
// the type-the-name modal v and submits it.
func submitBody(api *slacktest.API, v slacktest.View, user, name string) []byte {
	return api.Submit(user, v, map[string]map[string]string{slackui.BlockConfirmName: {slackui.ActionConfirmName: name}}).Body()
}

// The servers alerts name, round robin (the fake's demo data; db1 is left
// to the Approve clicks, whose purges delete it).
var alertServers = []string{"web1", "web2", "stage1.staging"}

// alertBody is delivery i of a run: n firing InstanceDown alerts, each
// with its own fingerprint and start time, so that no two alerts of a run
// are the same occurrence. label names the server (REBOOT_LABEL).
func alertBody(label string, n, i int, base time.Time) []byte {
	startsAt := base.Add(time.Duration(i) * time.Second)
	alerts := make([]slacktest.Alert, n)
	for k := range n {
		server := alertServers[(i+k)%len(alertServers)]
		instance := server + ".acme.uk0.bigv.io:9100"
		if !strings.Contains(server, ".") {
			instance = server + ".default.acme.uk0.bigv.io:9100"
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d", base.UnixNano(), i, k))
		a := slacktest.Firing(label, server, startsAt)
		a.Labels["instance"], a.Labels["shard"] = instance, strconv.Itoa(k)
		a.Annotations = map[string]string{
			"summary":     instance + " is down",
			"description": instance + " of job node has been down for more than 5 minutes.",
		}
		a.Fingerprint = hex.EncodeToString(sum[:8])
		alerts[k] = a
	}
	m := slacktest.Alertmanager(alerts...)
	m.Receiver, m.NotificationReason = "bytebot", "new alerts added"
	m.CommonLabels = map[string]string{"alertname": "InstanceDown", "job": "node", "severity": "critical"}
	return m.JSON()
}
