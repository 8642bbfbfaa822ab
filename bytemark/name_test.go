package bytemark_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bytebot/bytebot/bytemark"
)

func TestParseName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    bytemark.Name
		wantErr string
	}{
		{in: "web1", want: bytemark.Name{Server: "web1"}},
		{in: "web1.staging", want: bytemark.Name{Server: "web1", Group: "staging"}},
		{in: "web1.default.acme", want: bytemark.Name{Server: "web1", Group: "default", Account: "acme"}},
		{in: "web1.default.acme.uk0.bigv.io", want: bytemark.Name{Server: "web1", Group: "default", Account: "acme", Suffix: "uk0.bigv.io"}},
		{in: "web1.default.acme.uk0.bigv.io.evil.com", want: bytemark.Name{Server: "web1", Group: "default", Account: "acme", Suffix: "uk0.bigv.io.evil.com"}},
		{in: "web1.default.acme.x", want: bytemark.Name{Server: "web1", Group: "default", Account: "acme", Suffix: "x"}},
		{in: "web1.default.acme.uk0..io", wantErr: "empty part"},
		{in: "web1.default.acme.uk0.bigv.io/x", wantErr: "character '/'"},
		{in: "web1.default.acme.-uk0", wantErr: "hyphen"},
		{in: "Web1.Default.ACME", want: bytemark.Name{Server: "web1", Group: "default", Account: "acme"}},
		{in: "1234", want: bytemark.Name{Server: "1234"}},
		{in: "my-server-2", want: bytemark.Name{Server: "my-server-2"}},
		{in: "", wantErr: "empty server name"},
		{in: ".default", wantErr: "empty part"},
		{in: "web1..acme", wantErr: "empty part"},
		{in: "web1.", wantErr: "empty part"},
		{in: "-web1", wantErr: "hyphen"},
		{in: "web1-", wantErr: "hyphen"},
		{in: "web_1", wantErr: "character '_'"},
		{in: "web 1", wantErr: "character ' '"},
		{in: "../etc", wantErr: "empty part"},
		{in: "web1/x", wantErr: "character '/'"},
		{in: "web1%2fx", wantErr: "character '%'"},
		{in: "wéb1", wantErr: "character 'é'"},
		{in: strings.Repeat("a", 64), wantErr: "longer than 63"},
		{in: strings.Repeat("a.", 127) + "a", wantErr: "too long"},
	}
	for _, tt := range tests {
		got, err := bytemark.ParseName(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseName(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseName(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestNameString(t *testing.T) {
	t.Parallel()
	for n, want := range map[bytemark.Name]string{
		{Server: "web1"}:                                    "web1",
		{Server: "web1", Group: "g"}:                        "web1.g",
		{Server: "web1", Group: "default", Account: "acme"}: "web1.default.acme",
		{Server: "web1", Group: "default", Account: "acme", Suffix: "uk0.bigv.io"}: "web1.default.acme.uk0.bigv.io",
	} {
		if got := n.String(); got != want {
			t.Errorf("%#v.String() = %q; want %q", n, got, want)
		}
	}
}

func TestValidDiscLabel(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"root", "data", "disc-2", "backups_2026", "v", "vd", "sd1", "vdata", "sdcard", "hdd1x", "archive", "xv", "x"} {
		if err := bytemark.ValidDiscLabel(ok); err != nil {
			t.Errorf("ValidDiscLabel(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "vda", "vdb", "vdaa", "sda", "hdc", "xvda", "xvdz", "vda1", "nvme0n1", "Data", "-x", "_x", "a b", "a/b", "a.b", "dísc", strings.Repeat("a", 64)} {
		if err := bytemark.ValidDiscLabel(bad); err == nil {
			t.Errorf("ValidDiscLabel(%q) = nil; want an error", bad)
		}
	}
}

// FuzzParseName checks that ParseName never panics and that accepted
// names round-trip through String.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"web1", "web1.default", "web1.default.acme", "web1.default.acme.uk0.bigv.io", "", "..", "-a", "A.B.C",
		"web1.default.acme.uk0.bigv.io.evil.com", "1001.11.1.uk1.bigv.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := bytemark.ParseName(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bytemark: ") {
				t.Errorf("ParseName(%q) error %q lacks the prefix", s, err)
			}
			return
		}
		if n.Server == "" || (n.Account != "" && n.Group == "") {
			t.Fatalf("ParseName(%q) = %#v: missing parts", s, n)
		}
		back, err := bytemark.ParseName(n.String())
		if err != nil || back != n {
			t.Fatalf("ParseName(%q) = %#v, but ParseName(%q) = %#v, %v", s, n, n.String(), back, err)
		}
		if n.Short().String() != n.Server && n.Suffix != "" && !strings.HasSuffix(n.String(), "."+n.Suffix) {
			t.Fatalf("ParseName(%q) = %#v: suffix lost", s, n)
		}
		if strings.ContainsAny(n.Suffix, "/%?# ") || strings.Contains(n.Suffix, "..") {
			t.Fatalf("ParseName(%q) = %#v: unsafe suffix", s, n)
		}
		for _, p := range []string{n.Server, n.Group, n.Account} {
			if strings.ContainsAny(p, "./%?# ") || !utf8.ValidString(p) {
				t.Fatalf("ParseName(%q) = %#v: unsafe part %q", s, n, p)
			}
		}
	})
}

// FuzzDecodeError checks that decoding any error body never panics and
// gives a one-line, valid UTF-8 message of bounded length.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"name":["can't be blank"],"memory":["is not included in the list","is not a number"]}`,
		`{"discs":[{},{},{"size":["must be greater than or equal to 50"]}]}`,
		`{"interval_seconds":"Missing interval_seconds parameter"}`,
		`not json`, ``, `null`, `[]`, `{"a":{"b":{"c":{"d":{"e":[1,true,null]}}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{400, 401, 404, 500} {
			resp := &http.Response{StatusCode: status, Header: http.Header{},
				Body:    io.NopCloser(strings.NewReader(string(body))),
				Request: &http.Request{Method: "PUT", URL: mustParse(t, "https://uk0.bigv.io/accounts/a")}}
			err := bytemark.CheckResponse(resp)
			var e *bytemark.Error
			if !errors.As(err, &e) {
				t.Fatalf("CheckResponse(%d) = %v", status, err)
			}
			msg := e.Error()
			if !utf8.ValidString(msg) || strings.ContainsAny(msg, "\r\n") || len(e.Message) > 600 || e.Message == "" {
				t.Fatalf("CheckResponse(%d, %q): bad message %q", status, body, msg)
			}
			for k, v := range e.Problems {
				if len(v) == 0 {
					t.Fatalf("problem %q has no messages", k)
				}
			}
		}
	})
}
