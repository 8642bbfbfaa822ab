// Package logtest is a log destination a test reads while the code under
// test writes to it from any goroutine: the one locked log buffer of the
// tests (the bot's, the Bytemark client's, main's).
package logtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer behind a mutex. The zero value is ready to
// use; a *Buffer is an io.Writer.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Len is the number of bytes written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

// JSONLogger is a debug-level logger writing JSON lines (slog's) to b, the
// format Records and Find read.
func (b *Buffer) JSONLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Records returns the JSON log records whose message is msg, oldest first.
func (b *Buffer) Records(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if json.Unmarshal(sc.Bytes(), &r) == nil && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// Find returns the first record with message msg whose err holds errText,
// or nil.
func (b *Buffer) Find(msg, errText string) map[string]any {
	for _, r := range b.Records(msg) {
		if e, _ := r["err"].(string); strings.Contains(e, errText) {
			return r
		}
	}
	return nil
}
