package slackui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// TestErrorText checks what people are told about errors: specific where
// it helps, a reference otherwise, and never the error's own text.
func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"usage", &commands.UsageError{Msg: "Sizes look like 25G."}, "Sizes look like 25G."},
		{"wrapped usage", fmt.Errorf("x: %w", &commands.UsageError{Msg: "No."}), "No."},
		{"not found", &bytemark.Error{Method: "GET", Path: "/x", StatusCode: 404, Message: "Not Found"}, "doesn't exist"},
		{"forbidden", &bytemark.Error{Method: "PUT", Path: "/x", StatusCode: 403}, "isn't allowed"},
		{"bad request", &bytemark.Error{Method: "POST", Path: "/x", StatusCode: 400, Message: "power_on the server is not running"}, "ref r1"},
		{"unauthorized", &bytemark.Error{Method: "GET", Path: "/x", StatusCode: 401}, "can't log in to Bytemark"},
		{"server error", fmt.Errorf("commands: show: %w", &bytemark.Error{Method: "GET", Path: "/x", StatusCode: 502}), "HTTP 502"},
		{"power timeout", &bytemark.PowerTimeoutError{Server: "web1.default.acme", Action: "restart", Waited: 2 * time.Minute, PowerOn: true}, "still on"},
		{"other", errors.New("redis: connection refused token=xoxb-secret"), "Something went wrong (ref r1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ErrorText(tt.err, "r1")
			if !strings.Contains(got, tt.want) {
				t.Errorf("ErrorText(%v) = %q; want it to contain %q", tt.err, got, tt.want)
			}
			if strings.Contains(got, "xoxb") || strings.Contains(got, "redis") || strings.Contains(got, "power_on") || strings.Contains(got, "HTTP 40") {
				t.Errorf("ErrorText(%v) = %q leaks the error", tt.err, got)
			}
		})
	}
}
