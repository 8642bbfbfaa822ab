package bytemark_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bytebot/bytebot/bytemark"
)

// TestErrorStatuses checks the *Error made for each status and body
// shape, for a read (GET, retried on 502/503/504) and a write (PUT, never
// retried).
func TestErrorStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		status       int
		contentType  string
		body         string
		wantMessage  string
		wantProblems map[string][]string
		wantGETs     int // requests made by a GET
		is           func(error) bool
	}{
		{
			name: "400 problems", status: 400, contentType: "application/json",
			body:        `{"name":["can't be blank"],"memory":["is not included in the list","is not a number"]}`,
			wantMessage: "memory is not included in the list; memory is not a number; name can't be blank",
			wantProblems: map[string][]string{
				"name": {"can't be blank"}, "memory": {"is not included in the list", "is not a number"},
			},
			wantGETs: 1, is: bytemark.IsBadRequest,
		},
		{
			name: "400 bare string", status: 400, contentType: "application/json",
			body:         `{"interval_seconds":"Missing interval_seconds parameter"}`,
			wantMessage:  "interval_seconds Missing interval_seconds parameter",
			wantProblems: map[string][]string{"interval_seconds": {"Missing interval_seconds parameter"}},
			wantGETs:     1, is: bytemark.IsBadRequest,
		},
		{
			name: "400 per disc", status: 400, contentType: "application/json",
			body:         `{"discs":[{},{"size":["must be greater than or equal to 50"]}],"name":["is invalid"]}`,
			wantMessage:  "discs[2].size must be greater than or equal to 50; name is invalid",
			wantProblems: map[string][]string{"discs[2].size": {"must be greater than or equal to 50"}, "name": {"is invalid"}},
			wantGETs:     1, is: bytemark.IsBadRequest,
		},
		{
			name: "400 text", status: 400, contentType: "text/plain",
			body:         "Cannot delete a group that still has servers\n",
			wantMessage:  "Cannot delete a group that still has servers",
			wantProblems: map[string][]string{"": {"Cannot delete a group that still has servers"}},
			wantGETs:     1, is: bytemark.IsBadRequest,
		},
		{
			name: "400 JSON array", status: 400, contentType: "application/json",
			body:         `["odd"]`,
			wantMessage:  `["odd"]`,
			wantProblems: map[string][]string{"": {`["odd"]`}},
			wantGETs:     1, is: bytemark.IsBadRequest,
		},
		{name: "400 empty", status: 400, wantMessage: "Bad Request", wantGETs: 1, is: bytemark.IsBadRequest},
		{name: "401", status: 401, contentType: "text/plain", body: "Unauthorized", wantMessage: "Unauthorized", wantGETs: 1, is: bytemark.IsUnauthorized},
		{name: "403", status: 403, contentType: "text/plain", body: "403 Forbidden: read only", wantMessage: "403 Forbidden: read only", wantGETs: 1, is: bytemark.IsForbidden},
		{name: "404 empty", status: 404, wantMessage: "Not Found", wantGETs: 1, is: bytemark.IsNotFound},
		{name: "404 JSON", status: 404, contentType: "application/json", body: `{"error":"no such server"}`, wantMessage: "no such server", wantGETs: 1, is: bytemark.IsNotFound},
		{name: "500", status: 500, contentType: "text/plain", body: "Internal error\r\nat line 3", wantMessage: "Internal error at line 3", wantGETs: 1},
		{name: "502 html", status: 502, contentType: "text/html", body: "<html><body>Bad Gateway</body></html>", wantMessage: "Bad Gateway", wantGETs: 3},
		{name: "503", status: 503, contentType: "text/plain", body: "down for maintenance", wantMessage: "down for maintenance", wantGETs: 3},
		{name: "504 empty", status: 504, wantMessage: "Gateway Timeout", wantGETs: 3},
		{name: "409", status: 409, contentType: "application/json", body: `{"message":"busy"}`, wantMessage: "busy", wantGETs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			var requests atomic.Int32
			mux.HandleFunc(vmPath, func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			for _, method := range []string{"GET", "PUT"} {
				requests.Store(0)
				var err error
				wantGETs := tt.wantGETs
				if method == "GET" {
					_, err = c.GetServer(t.Context(), "web1")
				} else {
					err = c.StartServer(t.Context(), "web1")
					wantGETs = 1 // a write is never retried
				}
				var e *bytemark.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s error = %v (%T), want *bytemark.Error", method, err, err)
				}
				if e.Method != method || e.Path != vmPath || e.StatusCode != tt.status || e.Message != tt.wantMessage {
					t.Errorf("%s error = %+v, want %s %s %d %q", method, e, method, vmPath, tt.status, tt.wantMessage)
				}
				if !cmp.Equal(e.Problems, tt.wantProblems) {
					t.Errorf("%s problems %s", method, cmp.Diff(tt.wantProblems, e.Problems))
				}
				if want := "bytemark: " + method + " " + vmPath + ": "; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("Error() = %q, want prefix %q", err, want)
				}
				if tt.is != nil && !tt.is(err) {
					t.Errorf("%s: the Is helper for %d returned false", method, tt.status)
				}
				for _, is := range []func(error) bool{bytemark.IsNotFound, bytemark.IsUnauthorized, bytemark.IsForbidden, bytemark.IsBadRequest} {
					if tt.is == nil && is(err) {
						t.Errorf("%s: an Is helper matched status %d", method, tt.status)
					}
				}
				if got := int(requests.Load()); got != wantGETs {
					t.Errorf("%s made %d requests, want %d", method, got, wantGETs)
				}
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	e := &bytemark.Error{Method: "PUT", Path: "/accounts/acme/groups/default/virtual_machines/web1", StatusCode: 400, Message: "memory is not a number"}
	if got, want := e.Error(), "bytemark: PUT /accounts/acme/groups/default/virtual_machines/web1: 400 memory is not a number"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := errors.Join(errors.New("context"), e)
	if !bytemark.IsBadRequest(wrapped) || bytemark.IsNotFound(wrapped) || bytemark.IsBadRequest(errors.New("x")) || bytemark.IsNotFound(nil) {
		t.Error("Is helpers don't see through wrapping or match the wrong errors")
	}
}

// TestCheckResponseLimitsBody checks that a huge error body is read only
// in part and the message stays short.
func TestCheckResponseLimitsBody(t *testing.T) {
	t.Parallel()
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 10<<20))}
	resp := &http.Response{StatusCode: 500, Body: io.NopCloser(body), Header: http.Header{},
		Request: &http.Request{Method: "GET", URL: mustParse(t, "https://uk0.bigv.io/accounts?secret=1")}}
	err := bytemark.CheckResponse(resp)
	var e *bytemark.Error
	if !errors.As(err, &e) {
		t.Fatalf("CheckResponse = %v", err)
	}
	if body.n > 1<<20 {
		t.Errorf("read %d bytes of the error body", body.n)
	}
	if len(e.Message) > 600 || e.Path != "/accounts" {
		t.Errorf("error = %.80q… (%d bytes), path %q", e.Message, len(e.Message), e.Path)
	}
	if bytemark.CheckResponse(&http.Response{StatusCode: 204}) != nil {
		t.Error("CheckResponse(204) != nil")
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestReadRetries checks that GETs survive transient failures, that
// connection errors are retried, and that retries honour the context.
func TestReadRetries(t *testing.T) {
	t.Parallel()
	t.Run("recovers", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		var n atomic.Int32
		mux.HandleFunc(vmPath, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, onJSON)
		})
		s, err := c.GetServer(t.Context(), "web1")
		if err != nil || !s.PowerOn || n.Load() != 3 {
			t.Errorf("GetServer = %+v, %v after %d requests; want success after 3", s, err, n.Load())
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		c, err := bytemark.NewClient(nil, bytemark.Options{APIURL: "http://127.0.0.1:1", APIKey: "k", Account: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		c.SetRetryBase(time.Millisecond)
		_, err = c.GetServer(t.Context(), "web1")
		if err == nil || !strings.HasPrefix(err.Error(), "bytemark: GET "+vmPath+": ") || strings.Contains(err.Error(), "127.0.0.1:1/") {
			t.Errorf("GetServer error = %v, want a transport error naming the call, not the URL", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		t.Parallel()
		c, mux := setup(t)
		c.SetRetryBase(time.Hour)
		ctx, cancel := context.WithCancel(t.Context())
		mux.HandleFunc(vmPath, func(w http.ResponseWriter, r *http.Request) {
			cancel()
			w.WriteHeader(http.StatusBadGateway)
		})
		_, err := c.GetServer(ctx, "web1")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetServer error = %v, want context.Canceled", err)
		}
	})
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
