package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// responsePath is where the stand-in serves the response_urls it hands out.
const responsePath = "/response/"

// Response URL limits, as Slack's: 5 posts within 30 minutes.
const (
	ResponseURLUses = 5
	ResponseURLTTL  = 30 * time.Minute
)

// A Message is what a response_url shows: the messages posted through it,
// after replace_original and delete_original.
type Message struct {
	Text         string
	Blocks       string // JSON
	ResponseType string // "ephemeral" (Slack's default) or "in_channel"
	ThreadTS     string
}

type responseURL struct {
	channel, user string
	issued        time.Time
	posts         int
	messages      []Message
	// replaced: a post with replace_original found nothing to replace;
	// the acknowledgement recorded after it (Acknowledge) is what it
	// replaced.
	replaced bool
}

type trigger struct {
	issued time.Time
	used   bool
}

// ResponseURL hands out a response_url for a command or click by user in
// channel.
func (a *API) ResponseURL(user, channel string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	id := fmt.Sprintf("%s/%d/%s", a.o.TeamID, a.seq, randomHex(8))
	a.urls[id] = &responseURL{channel: channel, user: user, issued: a.o.Now()}
	return a.srv.URL + responsePath + id
}

// TriggerID hands out a trigger_id: it opens one view within TriggerTTL.
func (a *API) TriggerID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	id := fmt.Sprintf("%d.%d.%s", 13345224609+a.seq, 738474920, randomHex(16))
	a.triggers[id] = &trigger{issued: a.o.Now()}
	return id
}

// AddTrigger makes a trigger_id the kit did not hand out (a payload from
// testdata) valid from now.
func (a *API) AddTrigger(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.triggers[id] = &trigger{issued: a.o.Now()}
}

// serveResponse answers a post to a response_url as Slack does: "ok", or
// 404 used_url / expired_url / no_service, 400 no_text / invalid_payload.
func (a *API) serveResponse(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	var p struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		ThreadTS        string          `json:"thread_ts"`
	}
	call := Call{Method: "response_url", Form: readForm(r, body), Raw: string(body), URL: r.URL.String()}
	if r.URL.Host == "" {
		call.URL = a.srv.URL + r.URL.Path
	}
	status, say := http.StatusOK, "ok"
	a.mu.Lock()
	call.At = a.o.Now()
	u := a.urls[id]
	switch {
	case r.Method != http.MethodPost:
		status, say = http.StatusMethodNotAllowed, "invalid_method"
	case u == nil:
		status, say = http.StatusNotFound, "no_service"
	case call.At.Sub(u.issued) > ResponseURLTTL:
		status, say = http.StatusNotFound, "expired_url"
	case u.posts >= ResponseURLUses:
		status, say = http.StatusNotFound, "used_url"
	case json.Unmarshal(body, &p) != nil:
		status, say = http.StatusBadRequest, "invalid_payload"
	case p.Text == "" && len(p.Blocks) == 0 && !p.DeleteOriginal:
		status, say = http.StatusBadRequest, "no_text"
	}
	if status == http.StatusOK {
		u.posts++
		m := Message{Text: p.Text, ResponseType: p.ResponseType, ThreadTS: p.ThreadTS}
		if len(p.Blocks) > 0 && string(p.Blocks) != "null" {
			m.Blocks = string(p.Blocks)
		}
		if m.ResponseType == "" {
			m.ResponseType = "ephemeral"
		}
		switch {
		case p.DeleteOriginal && len(u.messages) > 0:
			u.messages = u.messages[:len(u.messages)-1]
			if p.Text != "" || m.Blocks != "" {
				u.messages = append(u.messages, m)
			}
		case p.ReplaceOriginal && len(u.messages) > 0:
			u.messages[len(u.messages)-1] = m
		case p.ReplaceOriginal:
			u.replaced = true
			u.messages = append(u.messages, m)
		case !p.DeleteOriginal:
			u.messages = append(u.messages, m)
		}
	} else {
		call.Error = say
	}
	if u != nil {
		call.Form.Set("channel", u.channel)
		call.Form.Set("user", u.user)
	}
	a.recordLocked(call)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, say)
}

// Responses returns what response_url shows now, oldest first.
func (a *API) Responses(responseURL string) []Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, id, _ := strings.Cut(responseURL, responsePath)
	if u := a.urls[id]; u != nil {
		return append([]Message(nil), u.messages...)
	}
	return nil
}

// WaitResponse waits for a post to responseURL ("" for any) whose content
// has every substring, and returns it.
func (a *API) WaitResponse(t testing.TB, responseURL string, substrings ...string) Call {
	t.Helper()
	var found Call
	a.Wait(t, fmt.Sprintf("a response_url post with %q", substrings), func() bool {
		for _, c := range a.Find("response_url", substrings...) {
			if c.OK() && (responseURL == "" || c.URL == responseURL) {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// A View is a modal the bot opened (views.open, views.push), as last
// updated.
type View struct {
	ID              string
	ExternalID      string
	CallbackID      string
	PrivateMetadata string
	Hash            string
	Title           string
	Blocks          string // JSON
	TriggerID       string // the trigger that opened it
	RootID          string // the view below it (views.push), or its own ID
	Raw             string // the view as the bot sent it last
}

// Views returns the views opened so far, oldest first.
func (a *API) Views() []View {
	a.mu.Lock()
	defer a.mu.Unlock()
	var vs []View
	for _, c := range a.calls {
		if (c.Method == "views.open" || c.Method == "views.push") && c.OK() {
			if v := a.views[c.TS]; v != nil {
				vs = append(vs, *v)
			}
		}
	}
	return vs
}

// View returns the view with id, as last updated.
func (a *API) View(id string) (View, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v := a.views[id]; v != nil {
		return *v, true
	}
	return View{}, false
}

// ViewOpenedBy returns the view that trigger_id opened (views.open or
// views.push), as last updated: the modal a click opened, if it did.
func (a *API) ViewOpenedBy(triggerID string) (View, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, v := range a.views {
		if v.TriggerID == triggerID {
			return *v, true
		}
	}
	return View{}, false
}

// WaitView waits for the n-th (1-based) view opened.
func (a *API) WaitView(t testing.TB, n int) View {
	t.Helper()
	var vs []View
	a.Wait(t, fmt.Sprintf("view %d", n), func() bool {
		vs = a.Views()
		return len(vs) >= n
	})
	return vs[n-1]
}

type viewJSON struct {
	Type            string          `json:"type"`
	CallbackID      string          `json:"callback_id"`
	PrivateMetadata string          `json:"private_metadata"`
	ExternalID      string          `json:"external_id"`
	Title           json.RawMessage `json:"title"`
	Blocks          json.RawMessage `json:"blocks"`
}

func (v *View) set(raw string) error {
	var j viewJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return err
	}
	var title struct {
		Text string `json:"text"`
	}
	json.Unmarshal(j.Title, &title)
	v.CallbackID, v.PrivateMetadata, v.Title, v.Blocks, v.Raw = j.CallbackID, j.PrivateMetadata, title.Text, string(j.Blocks), raw
	if j.ExternalID != "" {
		v.ExternalID = j.ExternalID
	}
	v.Hash = randomHex(10)
	return nil
}

func (a *API) viewAnswer(v *View) answer {
	var m map[string]any
	json.Unmarshal([]byte(v.Raw), &m)
	if m == nil {
		m = map[string]any{}
	}
	m["id"], m["team_id"], m["hash"], m["root_view_id"], m["app_id"], m["bot_id"] = v.ID, a.o.TeamID, v.Hash, v.RootID, a.o.AppID, a.o.BotID
	m["external_id"] = v.ExternalID
	m["state"] = map[string]any{"values": map[string]any{}}
	return okAnswer(map[string]any{"view": m})
}

// openViewLocked answers views.open and views.push: the trigger must be
// one the kit knows, fresh and unused.
func (a *API) openViewLocked(call *Call) answer {
	id := call.Form.Get("trigger_id")
	tr := a.triggers[id]
	switch {
	case tr == nil:
		call.Error = "invalid_trigger_id"
	case tr.used:
		call.Error = "exchanged_trigger_id"
	case call.At.Sub(tr.issued) > a.o.TriggerTTL:
		call.Error = "expired_trigger_id"
	}
	if call.Error != "" {
		return slackError(call.Error)
	}
	v := &View{TriggerID: id}
	if err := v.set(call.Form.Get("view")); err != nil || call.Form.Get("view") == "" {
		call.Error = "invalid_arguments"
		return slackError(call.Error)
	}
	tr.used = true
	a.seq++
	v.ID = fmt.Sprintf("V%08d", a.seq)
	v.RootID = v.ID
	if call.Method == "views.push" {
		// Pushed on the view the trigger's interaction came from: the
		// newest view, as far as the stand-in knows.
		for _, c := range a.calls {
			if (c.Method == "views.open") && c.OK() {
				v.RootID = c.TS
			}
		}
	}
	call.TS = v.ID // the calls record which view they opened
	a.views[v.ID] = v
	return a.viewAnswer(v)
}

// updateViewLocked answers views.update by view_id or external_id, with
// Slack's hash check.
func (a *API) updateViewLocked(call *Call) answer {
	var v *View
	if id := call.Form.Get("view_id"); id != "" {
		v = a.views[id]
	} else if ext := call.Form.Get("external_id"); ext != "" {
		for _, x := range a.views {
			if x.ExternalID == ext {
				v = x
			}
		}
	}
	switch {
	case v == nil:
		call.Error = "not_found"
	case call.Form.Get("hash") != "" && call.Form.Get("hash") != v.Hash:
		call.Error = "hash_conflict"
	}
	if call.Error != "" {
		return slackError(call.Error)
	}
	if err := v.set(call.Form.Get("view")); err != nil {
		call.Error = "invalid_arguments"
		return slackError(call.Error)
	}
	call.TS = v.ID
	return a.viewAnswer(v)
}

// Acknowledge records body, a slash command's immediate answer (the JSON
// the bot wrote to Slack's request), as the first message responseURL
// shows, as Slack shows it: it is what a post with replace_original
// replaces. It uses none of the URL's 5 posts. A test records it once the
// bot's handler has returned, which the bot's answer may beat: a
// replace_original post that came first replaced it.
func (a *API) Acknowledge(responseURL string, body []byte) {
	var p struct {
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
		ResponseType string          `json:"response_type"`
	}
	if json.Unmarshal(body, &p) != nil || p.Text == "" && len(p.Blocks) == 0 {
		return // an empty 200 shows nothing
	}
	m := Message{Text: p.Text, ResponseType: p.ResponseType}
	if len(p.Blocks) > 0 && string(p.Blocks) != "null" {
		m.Blocks = string(p.Blocks)
	}
	if m.ResponseType == "" {
		m.ResponseType = "ephemeral"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, id, _ := strings.Cut(responseURL, responsePath)
	if u := a.urls[id]; u != nil {
		if u.replaced {
			u.replaced = false
			return
		}
		u.messages = append([]Message{m}, u.messages...)
	}
}

// WaitShown waits until what responseURL shows (Responses) has a message
// with every substring, and returns what it shows then.
func (a *API) WaitShown(t testing.TB, responseURL string, substrings ...string) []Message {
	t.Helper()
	var shown []Message
	a.Wait(t, fmt.Sprintf("%s to show %q", responseURL, substrings), func() bool {
		shown = a.Responses(responseURL)
		for _, m := range shown {
			if m.Has(substrings...) {
				return true
			}
		}
		return false
	})
	return shown
}

// Has reports whether the message's text or blocks have every substring
// (with the JSON escapes of < > & undone).
func (m Message) Has(substrings ...string) bool {
	all := UnescapeJSON(m.Text + "\n" + m.Blocks)
	for _, s := range substrings {
		if !strings.Contains(all, s) {
			return false
		}
	}
	return true
}
