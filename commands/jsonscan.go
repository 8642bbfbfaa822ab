package commands

// A walk over JSON that encoding/json has already validated (json.Valid),
// for webhook deliveries: members and elements are handed out as slices of
// the input, so that what is not kept is never copied or allocated.

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// typeError is a member whose value has the wrong JSON type.
type typeError struct {
	field string
	value []byte
}

func (e typeError) Error() string {
	return "commands: field " + e.field + " has the wrong type (" + jsonKind(e.value) + ")"
}

// jsonKind names the type of a JSON value, as encoding/json's
// UnmarshalTypeError does.
func jsonKind(v []byte) string {
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index just past the string starting at b[i].
func endOfString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// endOfValue returns the index just past the value starting at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i = endOfString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
		i++
	}
	return i
}

// eachMember calls f with the name (quoted, as in the input) and value of
// each member of the object obj, in order, and stops at f's first error.
func eachMember(obj []byte, f func(name, value []byte) error) error {
	i := skipSpace(obj, 1) // past '{'
	for obj[i] != '}' {
		j := endOfString(obj, i)
		name := obj[i:j]
		i = skipSpace(obj, skipSpace(obj, j)+1) // past ':'
		j = endOfValue(obj, i)
		if err := f(name, obj[i:j]); err != nil {
			return err
		}
		if i = skipSpace(obj, j); obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return nil
}

// eachElement calls f with each element of the array arr, in order.
func eachElement(arr []byte, f func(elem []byte)) {
	i := skipSpace(arr, 1) // past '['
	for arr[i] != ']' {
		j := endOfValue(arr, i)
		f(arr[i:j])
		if i = skipSpace(arr, j); arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
}

// plain returns the bytes of the JSON string s between its quotes when
// they are its value as they stand: no escapes, valid UTF-8.
func plain(s []byte) ([]byte, bool) {
	in := s[1 : len(s)-1]
	return in, bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in)
}

// unquote is the value of the JSON string s, as encoding/json decodes it.
func unquote(s []byte) string {
	if in, ok := plain(s); ok {
		return string(in)
	}
	var v string
	json.Unmarshal(s, &v)
	return v
}

// fieldIs reports whether the member name (quoted) names field, matched as
// encoding/json matches struct fields: exactly, or else without regard to
// case.
func fieldIs(name []byte, field string) bool {
	if in, ok := plain(name); ok {
		return string(in) == field || strings.EqualFold(string(in), field)
	}
	return strings.EqualFold(unquote(name), field)
}
