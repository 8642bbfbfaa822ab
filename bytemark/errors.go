package bytemark

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// maxMessageLen bounds the length of a message taken from a response body.
const maxMessageLen = 500

// Error reports an unsuccessful Bytemark API or auth response. It is only
// created by CheckResponse. Path is the request path without the query, and
// neither field ever holds a token, password or API key.
type Error struct {
	Method     string
	Path       string
	StatusCode int
	// Message is a short human-readable reason: the API's own words where
	// it gave any, otherwise the HTTP status text.
	Message string
	// Problems holds a 400 response's "attribute => [messages]" body. A
	// body that is not a JSON object is a single problem under the key "".
	// Per-item lists such as {"discs":[{},{"size":[…]}]} are flattened to
	// keys like "discs[2].size" (counting from 1).
	Problems map[string][]string
}

// Error returns the error as "bytemark: METHOD PATH: STATUS message".
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("bytemark: %s %s: %d %s", e.Method, e.Path, e.StatusCode, msg)
}

// IsNotFound reports whether err is an API error with status 404, which the
// API also answers for resources the login cannot see.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is an API error with status 401, or a
// login refused with 401.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether err is an API error with status 403: the
// login can read the resource but not change it.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsBadRequest reports whether err is an API error with status 400: the API
// refused the values sent (see Error.Problems).
func IsBadRequest(err error) bool { return hasStatus(err, http.StatusBadRequest) }

func hasStatus(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == code
}

// CheckResponse returns nil for a 2xx response and an *Error otherwise,
// reading at most 64 KiB of the body. The caller still closes the body.
func CheckResponse(r *http.Response) error {
	if r.StatusCode >= 200 && r.StatusCode <= 299 {
		return nil
	}
	e := &Error{StatusCode: r.StatusCode}
	if r.Request != nil {
		e.Method = r.Request.Method
		if r.Request.URL != nil {
			e.Path = r.Request.URL.Path // never the query
		}
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
	}
	if r.StatusCode == http.StatusBadRequest {
		e.Problems = decodeProblems(body)
		e.Message = problemsMessage(e.Problems)
	}
	if e.Message == "" {
		e.Message = bodyMessage(body, r.Header.Get("Content-Type"))
	}
	if e.Message == "" {
		e.Message = http.StatusText(r.StatusCode)
	}
	return e
}

// decodeProblems decodes a 400 body. It never fails: anything that is not a
// JSON object becomes one problem under the key "" (nil for an empty body).
func decodeProblems(body []byte) map[string][]string {
	text := strings.TrimSpace(string(body))
	if text == "" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return map[string][]string{"": {clean(text)}}
	}
	p := make(map[string][]string)
	for k, v := range obj {
		flatten(p, k, v, 0)
	}
	return p
}

// maxProblemDepth bounds the nesting flatten follows; deeper values are kept
// as raw JSON text.
const maxProblemDepth = 4

// flatten adds the messages in v under key, descending into lists of
// objects ("discs[2].size") and objects ("a.b").
func flatten(p map[string][]string, key string, v json.RawMessage, depth int) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			p[key] = append(p[key], clean(s))
			return
		}
	case '[':
		var items []json.RawMessage
		if depth < maxProblemDepth && json.Unmarshal(v, &items) == nil {
			for i, it := range items {
				it = bytes.TrimSpace(it)
				if len(it) > 0 && it[0] == '{' {
					flatten(p, key+"["+strconv.Itoa(i+1)+"]", it, depth+1)
				} else {
					flatten(p, key, it, depth+1)
				}
			}
			return
		}
	case '{':
		var obj map[string]json.RawMessage
		if depth < maxProblemDepth && json.Unmarshal(v, &obj) == nil {
			for k, sub := range obj {
				flatten(p, key+"."+k, sub, depth+1)
			}
			return
		}
	case 'n':
		if string(v) == "null" {
			return
		}
	}
	p[key] = append(p[key], clean(string(v)))
}

// problemsMessage renders problems as "memory is not a number; name can't
// be blank", keys sorted.
func problemsMessage(p map[string][]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		field := clean(k) // a key is the API's text too
		for _, m := range p[k] {
			if part := strings.TrimSpace(field + " " + m); part != "" {
				parts = append(parts, part)
			}
		}
	}
	return truncate(strings.Join(parts, "; "))
}

// bodyMessage takes a short reason from a non-400 error body: a JSON
// "error" or "message" string, or plain text. HTML pages (proxies) give "".
func bodyMessage(body []byte, contentType string) string {
	text := strings.TrimSpace(string(body))
	if text == "" || strings.Contains(contentType, "html") || strings.HasPrefix(text, "<") {
		return ""
	}
	if text[0] == '{' {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			for _, k := range []string{"error", "message"} {
				if s, ok := m[k].(string); ok && s != "" {
					return clean(s)
				}
			}
		}
	}
	return clean(text)
}

// clean makes a message safe to show on one line: valid UTF-8, no control
// characters, bounded length.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "�")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(strings.Join(strings.Fields(s), " "))
}

func truncate(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	cut := maxMessageLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// PowerTimeoutError reports that a server did not power off within the
// deadline of a shutdown or restart. Nothing further was done: after a
// restart timeout the server was not started again.
type PowerTimeoutError struct {
	Server  string        // full name, server.group.account
	Action  string        // "shutdown", "restart" or "rescue"
	Waited  time.Duration // how long the client waited for power off
	PowerOn bool          // the last power state read
	// Err is the context error when the caller's context ended first, or
	// nil when Options.PowerTimeout ran out.
	Err error
}

// Error says what happened and what state the server was left in.
func (e *PowerTimeoutError) Error() string {
	state := "still powered on"
	if !e.PowerOn {
		state = "powered off"
	}
	why := "waited"
	if e.Err != nil {
		why = "gave up (" + e.Err.Error() + ")"
	}
	msg := fmt.Sprintf("bytemark: %s %s: %s after %s for power off; a powerdown signal was sent and autoreboot is off",
		e.Action, e.Server, why, e.Waited.Round(time.Second))
	if e.Action == "restart" || e.Action == "rescue" {
		msg += ", nothing was started"
	}
	return msg + "; the server is " + state
}

// Unwrap returns the context error, if any.
func (e *PowerTimeoutError) Unwrap() error { return e.Err }
