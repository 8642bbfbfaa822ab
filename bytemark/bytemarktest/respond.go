package bytemarktest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// resp is an answer computed under the lock and written after it.
type resp struct {
	status int
	json   any    // JSON body, when text is unset
	text   string // text/plain body
	isText bool
	allow  string // Allow header of a 405
}

func ok(v any) resp       { return resp{status: http.StatusOK, json: v} }
func created(v any) resp  { return resp{status: http.StatusCreated, json: v} }
func accepted(v any) resp { return resp{status: http.StatusAccepted, json: v} }
func noContent() resp     { return resp{status: http.StatusNoContent} }
func bad(p problems) resp { return resp{status: http.StatusBadRequest, json: p} }
func text(status int, msg string) resp {
	return resp{status: status, text: msg, isText: true}
}

func notFound() resp { return text(http.StatusNotFound, "404 Not Found") }

func forbidden() resp {
	return text(http.StatusForbidden, "403 Forbidden: you do not have permission to change this resource")
}

func methodNotAllowed(allow string) resp {
	return resp{status: http.StatusMethodNotAllowed, text: "405 Method Not Allowed", isText: true, allow: allow}
}

func (r resp) write(w http.ResponseWriter) {
	if r.allow != "" {
		w.Header().Set("Allow", r.allow)
	}
	switch {
	case r.isText:
		writeText(w, r.status, r.text)
	case r.status == http.StatusNoContent:
		w.WriteHeader(r.status)
	default:
		writeJSON(w, r.status, r.json)
	}
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "bytemarktest: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// writeFault answers an injected failure.
func writeFault(w http.ResponseWriter, status int) {
	if status == http.StatusBadRequest {
		writeJSON(w, status, problems{"base": []string{"injected fault"}})
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeText(w, status, fmt.Sprintf("%d %s (injected fault)", status, http.StatusText(status)))
}

// isJSON reports whether the request says its body is JSON.
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// problems is a 400 body: attribute => [messages] (a value may also be a
// list of per-item hashes, as vm_create's "discs").
type problems map[string]any

func (p problems) add(attr, msg string) {
	l, _ := p[attr].([]string)
	p[attr] = append(l, msg)
}

// parseObject decodes a POST/PUT body, which must be a JSON object; an
// empty body is an empty object.
func parseObject(body []byte) (map[string]any, bool) {
	if strings.TrimSpace(string(body)) == "" {
		return map[string]any{}, true
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

func badBody() resp {
	return bad(problems{"base": []string{"request body must be a JSON object"}})
}

// toInt reads an integer attribute the way the Brain does: a JSON number
// or a string of digits.
func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}

// checkInt validates an integer attribute within [lo, hi] and records
// Rails-style messages.
func checkInt(p problems, attr string, v any, lo, hi int) (int, bool) {
	n, isInt := toInt(v)
	if !isInt {
		if f, isFloat := v.(float64); isFloat && f == f {
			p.add(attr, "must be an integer")
		} else {
			p.add(attr, "is not a number")
		}
		return 0, false
	}
	if n < lo {
		p.add(attr, fmt.Sprintf("must be greater than or equal to %d", lo))
		return 0, false
	}
	if n > hi {
		p.add(attr, fmt.Sprintf("must be less than or equal to %d", hi))
		return 0, false
	}
	return n, true
}

func checkBool(p problems, attr string, v any) (bool, bool) {
	b, isBool := v.(bool)
	if !isBool {
		p.add(attr, "is not a boolean")
	}
	return b, isBool
}

// checkIn validates a string attribute against a definitions list.
func checkIn(p problems, attr string, v any, list []string) (string, bool) {
	s, isStr := v.(string)
	if !isStr || !contains(list, s) {
		p.add(attr, "is not included in the list")
		return "", false
	}
	return s, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkName validates a server or group name.
func checkName(p problems, v any, minLen int) (string, bool) {
	s, isStr := v.(string)
	if !isStr || s == "" {
		p.add("name", "can't be blank")
		return "", false
	}
	okay := true
	if !isDNSLabel(s) {
		p.add("name", "is invalid")
		okay = false
	}
	if len(s) < minLen {
		p.add("name", fmt.Sprintf("is too short (minimum is %d characters)", minLen))
		okay = false
	}
	if len(s) > 63 {
		p.add("name", "is too long (maximum is 63 characters)")
		okay = false
	}
	return s, okay
}

func isDNSLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// deviceName reports whether label looks like a Unix disc device name
// (vda, sdb, hdc, xvda, vdaa, ...), which the API refuses as a label.
func deviceName(label string) bool {
	for _, prefix := range []string{"xvd", "vd", "sd", "hd"} {
		rest, found := strings.CutPrefix(label, prefix)
		if !found || len(rest) < 1 || len(rest) > 2 {
			continue
		}
		if strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz") == "" {
			return true
		}
	}
	return false
}

// checkLabel validates a disc label for create or relabel.
func checkLabel(p problems, v any) (string, bool) {
	s, isStr := v.(string)
	if !isStr || s == "" {
		p.add("label", "can't be blank")
		return "", false
	}
	if deviceName(s) {
		p.add("label", "cannot be a Unix device name such as vda, sda or hda")
		return "", false
	}
	if len(s) > 63 {
		p.add("label", "is too long (maximum is 63 characters)")
		return "", false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			p.add("label", "is invalid")
			return "", false
		}
	}
	if s[0] == '-' || s[0] == '_' {
		p.add("label", "is invalid")
		return "", false
	}
	return s, true
}
