package bytemark_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bytebot/bytebot/bytemark"
)

// baseURLPath is where the API is mounted, so that a request made with an
// absolute path ("/accounts") misses the mux and fails the test.
const baseURLPath = "/api-v3"

// authPath is the auth host's base path, inside the API mux.
const authPath = "/auth"

const testAPIKey = "test-key"

// setup returns a client authenticated with an API key, default account
// "acme" and group "default", talking to a test server whose mux handles
// paths relative to the API base. opts may change the options.
func setup(t *testing.T, opts ...func(*bytemark.Options)) (*bytemark.Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	handler := http.NewServeMux()
	handler.Handle(baseURLPath+"/", http.StripPrefix(baseURLPath, mux))
	handler.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request to %s %s outside the API base path %s (an absolute path?)", r.Method, r.URL.Path, baseURLPath)
		http.Error(w, "bad path", http.StatusBadRequest)
	})
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)

	o := bytemark.Options{
		APIURL:       server.URL + baseURLPath + "/",
		AuthURL:      server.URL + baseURLPath + authPath,
		APIKey:       testAPIKey,
		Account:      "acme",
		UserAgent:    "bytebot-test",
		PollInterval: time.Millisecond,
		PowerTimeout: 5 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	c, err := bytemark.NewClient(server.Client(), o)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.SetRetryBase(time.Millisecond)
	return c, mux
}

// withSession switches the client to a username and password login.
func withSession(o *bytemark.Options) {
	o.APIKey = ""
	o.Username = "alice"
	o.Password = "s3cret"
}

// testMethod checks the request method.
func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if got := r.Method; got != want {
		t.Errorf("Request method: %v, want %v", got, want)
	}
}

// testHeaders checks the headers every authenticated API request carries.
func testHeaders(t *testing.T, r *http.Request, auth string) {
	t.Helper()
	for k, want := range map[string]string{
		"Accept":        "application/json",
		"Content-Type":  "application/json",
		"User-Agent":    "bytebot-test",
		"Authorization": auth,
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s %s header %s = %q, want %q", r.Method, r.URL.Path, k, got, want)
		}
	}
}

// jsonEqual reports whether two JSON texts hold the same value; "" is no
// body.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	if got == "" || want == "" {
		return got == want
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad test: want body %q is not JSON: %v", want, err)
	}
	return cmp.Equal(g, w)
}

// An exchange is one expected request and its canned response.
type exchange struct {
	method, path, query, body string // expected; query in any order
	status                    int    // default 200
	resp                      string // response body (JSON)
}

// script makes mux expect exactly the exchanges, in order.
func script(t *testing.T, mux *http.ServeMux, exchanges ...exchange) {
	t.Helper()
	var mu sync.Mutex
	next := 0
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		if next >= len(exchanges) {
			t.Errorf("unexpected request %s %s?%s %s", r.Method, r.URL.Path, r.URL.RawQuery, body)
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		e := exchanges[next]
		next++
		if r.Method != e.method || r.URL.Path != e.path {
			t.Errorf("request %d = %s %s, want %s %s", next, r.Method, r.URL.Path, e.method, e.path)
		}
		gotQ, _ := url.ParseQuery(r.URL.RawQuery)
		wantQ, _ := url.ParseQuery(e.query)
		if !cmp.Equal(gotQ, wantQ) {
			t.Errorf("%s %s query = %v, want %v", r.Method, r.URL.Path, gotQ, wantQ)
		}
		if !jsonEqual(t, string(body), e.body) {
			t.Errorf("%s %s body = %s, want %s", r.Method, r.URL.Path, body, e.body)
		}
		testHeaders(t, r, "Bearer apikey."+testAPIKey)
		status := e.status
		if status == 0 {
			status = http.StatusOK
		}
		if e.resp != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, e.resp)
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if next != len(exchanges) {
			t.Errorf("%d of %d expected requests made; next missing: %s %s", next, len(exchanges), exchanges[next].method, exchanges[next].path)
		}
	})
}

const (
	vmPath   = "/accounts/acme/groups/default/virtual_machines/web1"
	overview = "include_deleted=true&view=overview"
	web1JSON = `{"id":1234,"name":"web1","hostname":"web1.default.acme.uk0.bigv.io","group_id":1,"cores":1,"memory":1024,
		"power_on":true,"autoreboot_on":true,"deleted":false,"zone_name":"york","hardware_profile":"virtio2013",
		"management_address":"213.123.123.123","head":"head212","cdrom_url":null,"keymap":null,"type":"application/vnd.bigv.virtual-machine",
		"discs":[{"id":1111,"label":"root","size":25600,"virtual_machine_id":1234,"storage_pool":"tail1-sata1","storage_grade":"sata","type":"application/vnd.bigv.disc"}],
		"network_interfaces":[{"id":1,"label":null,"mac":"fe:ff:ff:00:ff:ff","vlan_num":1,"ips":["213.123.123.123","2001:ffff:ff:ffff:ffff:ff:fe00:fff"],"extra_ips":{},"virtual_machine_id":1234}]}`
	offJSON  = `{"id":1234,"name":"web1","power_on":false}`
	onJSON   = `{"id":1234,"name":"web1","power_on":true}`
	rootDisc = `{"id":1111,"label":"root","size":25600,"virtual_machine_id":1234,"storage_pool":"tail1-sata1","storage_grade":"sata"}`
)

var web1 = &bytemark.Server{
	ID: 1234, Name: "web1", Hostname: "web1.default.acme.uk0.bigv.io", GroupID: 1, Cores: 1, Memory: 1024,
	PowerOn: true, AutorebootOn: true, ZoneName: "york", HardwareProfile: "virtio2013",
	ManagementAddress: "213.123.123.123", Head: "head212",
	Discs: []bytemark.Disc{{ID: 1111, Label: "root", Size: 25600, VirtualMachineID: 1234, StoragePool: "tail1-sata1", StorageGrade: "sata"}},
	NetworkInterfaces: []bytemark.NetworkInterface{{ID: 1, MAC: "fe:ff:ff:00:ff:ff", VlanNum: 1,
		IPs: []string{"213.123.123.123", "2001:ffff:ff:ffff:ffff:ff:fe00:fff"}, ExtraIPs: map[string]string{}, VirtualMachineID: 1234}},
}

var root = &bytemark.Disc{ID: 1111, Label: "root", Size: 25600, VirtualMachineID: 1234, StoragePool: "tail1-sata1", StorageGrade: "sata"}

// discsJSON returns a server overview with n discs named disc-1 … disc-n.
func discsJSON(n int) string {
	var discs []string
	for i := 1; i <= n; i++ {
		discs = append(discs, fmt.Sprintf(`{"id":%d,"label":"disc-%d","size":10240,"storage_grade":"sata"}`, i, i))
	}
	return `{"id":1234,"name":"web1","power_on":true,"discs":[` + strings.Join(discs, ",") + `]}`
}

type call func(ctx context.Context, c *bytemark.Client) (any, error)

func noResult(f func(ctx context.Context, c *bytemark.Client) error) call {
	return func(ctx context.Context, c *bytemark.Client) (any, error) { return nil, f(ctx, c) }
}

// TestCalls checks every call: the requests sent (method, path, query,
// body, headers, in order) and the result decoded.
func TestCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		call      call
		exchanges []exchange
		want      any
	}{
		{
			name: "Accounts",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) { return c.Accounts(ctx) },
			exchanges: []exchange{{method: "GET", path: "/accounts",
				resp: `[{"id":1,"name":"acme","suspended":false},{"id":10,"name":"dr-evil","suspended":true}]`}},
			want: []bytemark.Account{{ID: 1, Name: "acme"}, {ID: 10, Name: "dr-evil", Suspended: true}},
		},
		{
			name:      "Ping",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.Ping(ctx) }),
			exchanges: []exchange{{method: "GET", path: "/accounts", resp: `[]`}},
		},
		{
			name: "Groups",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) { return c.Groups(ctx, "") },
			exchanges: []exchange{{method: "GET", path: "/accounts/acme/groups",
				resp: `[{"account_id":1,"id":1,"name":"default"},{"account_id":1,"id":2,"name":"staging"}]`}},
			want: []bytemark.Group{{ID: 1, AccountID: 1, Name: "default"}, {ID: 2, AccountID: 1, Name: "staging"}},
		},
		{
			name:      "Groups other account",
			call:      func(ctx context.Context, c *bytemark.Client) (any, error) { return c.Groups(ctx, "Other") },
			exchanges: []exchange{{method: "GET", path: "/accounts/other/groups", resp: `[]`}},
			want:      []bytemark.Group{},
		},
		{
			name: "ListServers default group",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) { return c.ListServers(ctx, "") },
			exchanges: []exchange{{method: "GET", path: "/accounts/acme/groups/default", query: "view=overview&include_deleted=true",
				resp: `{"id":1,"account_id":1,"name":"default","virtual_machines":[` + web1JSON +
					`,{"id":2,"name":"old","deleted":true},{"id":3,"name":"db1","power_on":false}]}`}},
			want: []bytemark.Server{*web1, {ID: 3, Name: "db1"}},
		},
		{
			name: "ListServers group.account",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) { return c.ListServers(ctx, "staging.other") },
			exchanges: []exchange{{method: "GET", path: "/accounts/other/groups/staging", query: "view=overview&include_deleted=true",
				resp: `{"id":2,"name":"staging","virtual_machines":[]}`}},
			want: []bytemark.Server{},
		},
		{
			name:      "GetServer",
			call:      func(ctx context.Context, c *bytemark.Client) (any, error) { return c.GetServer(ctx, "web1") },
			exchanges: []exchange{{method: "GET", path: vmPath, query: overview, resp: web1JSON}},
			want:      web1,
		},
		{
			name: "GetServer full hostname",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) {
				return c.GetServer(ctx, "DB1.Staging.Other.uk0.bigv.io")
			},
			exchanges: []exchange{{method: "GET", path: "/accounts/other/groups/staging/virtual_machines/db1", query: overview, resp: `{"id":7,"name":"db1"}`}},
			want:      &bytemark.Server{ID: 7, Name: "db1"},
		},
		{
			name:      "StartServer",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.StartServer(ctx, "web1") }),
			exchanges: []exchange{{method: "PUT", path: vmPath, body: `{"autoreboot_on":true,"power_on":true}`, resp: onJSON}},
		},
		{
			name:      "StopServer",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.StopServer(ctx, "web1.default") }),
			exchanges: []exchange{{method: "PUT", path: vmPath, body: `{"autoreboot_on":false,"power_on":false}`, resp: offJSON}},
		},
		{
			name:      "ResetServer",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.ResetServer(ctx, "web1.default.acme") }),
			exchanges: []exchange{{method: "POST", path: vmPath + "/signal", body: `{"signal":"reset"}`, resp: `{"signal":"reset"}`}},
		},
		{
			name: "ShutdownServer",
			call: noResult(func(ctx context.Context, c *bytemark.Client) error { return c.ShutdownServer(ctx, "web1") }),
			exchanges: []exchange{
				{method: "PUT", path: vmPath, body: `{"autoreboot_on":false}`, resp: onJSON},
				{method: "POST", path: vmPath + "/signal", body: `{"signal":"powerdown"}`, resp: `{"signal":"powerdown"}`},
				{method: "GET", path: vmPath, query: overview, resp: onJSON},
				{method: "GET", path: vmPath, query: overview, resp: onJSON},
				{method: "GET", path: vmPath, query: overview, resp: offJSON},
			},
		},
		{
			name: "RestartServer",
			call: noResult(func(ctx context.Context, c *bytemark.Client) error { return c.RestartServer(ctx, "web1") }),
			exchanges: []exchange{
				{method: "PUT", path: vmPath, body: `{"autoreboot_on":false}`, resp: onJSON},
				{method: "POST", path: vmPath + "/signal", body: `{"signal":"powerdown"}`},
				{method: "GET", path: vmPath, query: overview, resp: offJSON},
				{method: "PUT", path: vmPath, body: `{"autoreboot_on":true,"power_on":true}`, resp: onJSON},
			},
		},
		{
			name: "CycleServer",
			call: noResult(func(ctx context.Context, c *bytemark.Client) error { return c.CycleServer(ctx, "web1") }),
			exchanges: []exchange{
				{method: "PUT", path: vmPath, body: `{"autoreboot_on":false,"power_on":false}`, resp: offJSON},
				{method: "PUT", path: vmPath, body: `{"autoreboot_on":true,"power_on":true}`, resp: onJSON},
			},
		},
		{
			name:      "DeleteServer",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.DeleteServer(ctx, "web1") }),
			exchanges: []exchange{{method: "DELETE", path: vmPath, status: http.StatusNoContent}},
		},
		{
			name:      "UndeleteServer",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.UndeleteServer(ctx, "web1") }),
			exchanges: []exchange{{method: "PUT", path: vmPath, body: `{"deleted":false}`, resp: onJSON}},
		},
		{
			name:      "PurgeServer",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.PurgeServer(ctx, "web1") }),
			exchanges: []exchange{{method: "DELETE", path: vmPath, query: "purge=true", status: http.StatusNoContent}},
		},
		{
			name:      "Discs",
			call:      func(ctx context.Context, c *bytemark.Client) (any, error) { return c.Discs(ctx, "web1") },
			exchanges: []exchange{{method: "GET", path: vmPath + "/discs", resp: "[" + rootDisc + "]"}},
			want:      []bytemark.Disc{*root},
		},
		{
			name: "AddDisc",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) {
				return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "backups", SizeMiB: 10240, StorageGrade: "archive"})
			},
			exchanges: []exchange{
				{method: "GET", path: vmPath, query: overview, resp: web1JSON},
				{method: "POST", path: vmPath + "/discs", body: `{"label":"backups","size":10240,"storage_grade":"archive"}`, status: http.StatusCreated,
					resp: `{"id":46,"label":"backups","size":10240,"virtual_machine_id":1234,"storage_pool":"t1-archive1","storage_grade":"archive"}`},
			},
			want: &bytemark.Disc{ID: 46, Label: "backups", Size: 10240, VirtualMachineID: 1234, StoragePool: "t1-archive1", StorageGrade: "archive"},
		},
		{
			name: "AddDisc default grade",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) {
				return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "data", SizeMiB: 20480})
			},
			exchanges: []exchange{
				{method: "GET", path: vmPath, query: overview, resp: discsJSON(7)},
				{method: "POST", path: vmPath + "/discs", body: `{"label":"data","size":20480,"storage_grade":"sata"}`, status: http.StatusCreated,
					resp: `{"id":8,"label":"data","size":20480,"storage_grade":"sata"}`},
			},
			want: &bytemark.Disc{ID: 8, Label: "data", Size: 20480, StorageGrade: "sata"},
		},
		{
			name: "ResizeDisc",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) {
				return c.ResizeDisc(ctx, "web1", "root", 30720)
			},
			exchanges: []exchange{
				{method: "GET", path: vmPath + "/discs/root", resp: rootDisc},
				{method: "PUT", path: vmPath + "/discs/root", body: `{"size":30720}`, resp: strings.Replace(rootDisc, "25600", "30720", 1)},
			},
			want: &bytemark.Disc{ID: 1111, Label: "root", Size: 30720, VirtualMachineID: 1234, StoragePool: "tail1-sata1", StorageGrade: "sata"},
		},
		{
			name: "ResizeDisc same size",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) {
				return c.ResizeDisc(ctx, "web1", "root", 25600)
			},
			exchanges: []exchange{{method: "GET", path: vmPath + "/discs/root", resp: rootDisc}},
			want:      root,
		},
		{
			name: "ResizeDisc legacy label escaped",
			call: func(ctx context.Context, c *bytemark.Client) (any, error) {
				return c.ResizeDisc(ctx, "web1", "vda", 30000)
			},
			exchanges: []exchange{
				{method: "GET", path: vmPath + "/discs/vda", resp: `{"id":5,"label":"vda","size":20000}`},
				{method: "PUT", path: vmPath + "/discs/vda", body: `{"size":30000}`},
			},
			want: &bytemark.Disc{ID: 5, Label: "vda", Size: 30000},
		},
		{
			name:      "PurgeDisc",
			call:      noResult(func(ctx context.Context, c *bytemark.Client) error { return c.PurgeDisc(ctx, "web1", "data") }),
			exchanges: []exchange{{method: "DELETE", path: vmPath + "/discs/data", query: "purge=true", status: http.StatusNoContent}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			script(t, mux, tt.exchanges...)
			got, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if tt.want != nil && !cmp.Equal(got, tt.want) {
				t.Errorf("%s returned %s", tt.name, cmp.Diff(tt.want, got))
			}
		})
	}
}

// TestRefusedBeforeRequest checks that bad input is refused with a clear
// error before anything is sent.
func TestRefusedBeforeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		call      call
		exchanges []exchange // reads allowed before the refusal
		wantErr   string
	}{
		{"empty name", noResult(func(ctx context.Context, c *bytemark.Client) error { return c.StartServer(ctx, "") }), nil, "empty server name"},
		{"bad name", noResult(func(ctx context.Context, c *bytemark.Client) error { return c.StartServer(ctx, "../web1") }), nil, "invalid server name"},
		{"slash", noResult(func(ctx context.Context, c *bytemark.Client) error { return c.PurgeServer(ctx, "web1/x") }), nil, "invalid server name"},
		{"bad group", func(ctx context.Context, c *bytemark.Client) (any, error) { return c.ListServers(ctx, "a.b.c") }, nil, "invalid group"},
		{"bad account", func(ctx context.Context, c *bytemark.Client) (any, error) { return c.Groups(ctx, "a/b") }, nil, "invalid account"},
		{"device label", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "vdb", SizeMiB: 1024})
		}, nil, "Unix device name"},
		{"zero size", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "data", SizeMiB: 0})
		}, nil, "out of range"},
		{"huge size", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "data", SizeMiB: bytemark.MaxDiscSizeMiB + 1})
		}, nil, "out of range"},
		{"bad grade", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "data", SizeMiB: 1024, StorageGrade: "gold"})
		}, nil, `storage grade "gold"`},
		{"ninth disc", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "data", SizeMiB: 1024})
		}, []exchange{{method: "GET", path: vmPath, query: overview, resp: discsJSON(8)}}, "already has 8 discs"},
		{"label in use", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "root", SizeMiB: 1024})
		}, []exchange{{method: "GET", path: vmPath, query: overview, resp: web1JSON}}, `already has a disc labelled "root"`},
		{"deleted server", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.AddDisc(ctx, "web1", bytemark.DiscSpec{Label: "data", SizeMiB: 1024})
		}, []exchange{{method: "GET", path: vmPath, query: overview, resp: `{"id":1,"deleted":true}`}}, "is deleted"},
		{"shrink", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.ResizeDisc(ctx, "web1", "root", 10240)
		}, []exchange{{method: "GET", path: vmPath + "/discs/root", resp: rootDisc}}, "discs can only grow, and 10240 MiB is smaller than its 25600 MiB"},
		{"dot-dot disc label", noResult(func(ctx context.Context, c *bytemark.Client) error { return c.PurgeDisc(ctx, "web1", "..") }), nil, "is not a label"},
		{"disc label with space", func(ctx context.Context, c *bytemark.Client) (any, error) {
			return c.ResizeDisc(ctx, "web1", "a b", 1024)
		}, nil, "is not a label"},
		{"empty disc label", noResult(func(ctx context.Context, c *bytemark.Client) error { return c.PurgeDisc(ctx, "web1", "") }), nil, "disc label is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			script(t, mux, tt.exchanges...)
			_, err := tt.call(t.Context(), c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "bytemark: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDefinitions(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/definitions", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		testHeaders(t, r, "") // no auth
		fmt.Fprint(w, `[{"id":"distributions","data":["stretch","symbiosis"]},{"id":"storage_grades","data":["archive","sata","ssd"]},
			{"id":"hardware_profiles","data":["compatibility2011","virtio2013"]},{"id":"zone_names","data":["manchester","york"]},
			{"id":"keymaps","data":["en-gb"]},{"id":"sendkeys","data":["ctrl","alt"]},
			{"id":"distribution_descriptions","data":{"stretch":"Debian 9"}},{"id":"storage_grade_descriptions","data":{"sata":"SATA"}},
			{"id":"something_new","data":42},{"id":"zone_names","data":{"not":"a list"}}]`)
	})
	got, err := c.Definitions(t.Context())
	if err != nil {
		t.Fatalf("Definitions: %v", err)
	}
	want := &bytemark.Definitions{
		Distributions: []string{"stretch", "symbiosis"}, StorageGrades: []string{"archive", "sata", "ssd"},
		HardwareProfiles: []string{"compatibility2011", "virtio2013"}, ZoneNames: []string{"manchester", "york"},
		Keymaps: []string{"en-gb"}, Sendkeys: []string{"ctrl", "alt"},
		DistributionDescriptions: map[string]string{"stretch": "Debian 9"},
	}
	if !cmp.Equal(got, want) {
		t.Errorf("Definitions returned %s", cmp.Diff(want, got))
	}
}

// TestDefaultAccountLookedUpOnce checks that without a configured account
// the first account is looked up once, even by concurrent callers.
func TestDefaultAccountLookedUpOnce(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, func(o *bytemark.Options) { o.Account = ""; o.Group = "Staging" })
	var mu sync.Mutex
	lookups := 0
	var started sync.WaitGroup
	started.Add(50)
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		started.Wait() // every caller has started, so they overlap
		mu.Lock()
		lookups++
		mu.Unlock()
		fmt.Fprint(w, `[{"id":1,"name":"Acme"},{"id":2,"name":"other"}]`)
	})
	mux.HandleFunc("GET /accounts/acme/groups/staging/virtual_machines/{vm}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":%q}`, r.PathValue("vm"))
	})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			started.Done()
			name := fmt.Sprintf("web%d", i)
			s, err := c.GetServer(t.Context(), name)
			if err != nil || s.Name != name {
				t.Errorf("GetServer(%q) = %+v, %v", name, s, err)
			}
		})
	}
	wg.Wait()
	n, err := c.ResolveName(t.Context(), "db1")
	if want := (bytemark.Name{Server: "db1", Group: "staging", Account: "acme"}); err != nil || n != want {
		t.Errorf("ResolveName(db1) = %v, %v; want %v", n, err, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if lookups != 1 {
		t.Errorf("GET /accounts made %d times, want 1", lookups)
	}
}

func TestNoDefaultAccount(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, func(o *bytemark.Options) { o.Account = "" })
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `[]`) })
	_, err := c.GetServer(t.Context(), "web1")
	if err == nil || !strings.Contains(err.Error(), "no default account") {
		t.Errorf("GetServer error = %v, want no default account", err)
	}
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    bytemark.Options
		wantErr string
	}{
		{"api key", bytemark.Options{APIKey: "k"}, ""},
		{"api key with prefix", bytemark.Options{APIKey: "apikey.k"}, ""},
		{"password", bytemark.Options{Username: "u", Password: "p"}, ""},
		{"nothing", bytemark.Options{}, "is required"},
		{"no password", bytemark.Options{Username: "u"}, "is required"},
		{"both", bytemark.Options{APIKey: "k", Username: "u", Password: "p"}, "not both"},
		{"key with newline", bytemark.Options{APIKey: "k\nX-Evil: 1"}, "API key"},
		{"bad url", bytemark.Options{APIKey: "k", APIURL: "ftp://x"}, "API URL"},
		{"url with credentials", bytemark.Options{APIKey: "k", AuthURL: "https://u:pw@auth"}, "auth URL"},
		{"bad account", bytemark.Options{APIKey: "k", Account: "a.b"}, "default account"},
		{"bad group", bytemark.Options{APIKey: "k", Group: "-x"}, "default group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bytemark.NewClient(nil, tt.opts)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("NewClient(%s) error = %v, want %q", tt.name, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q shows URL credentials", err)
			}
		})
	}
}

// TestPowerTimeout checks that shutdown and restart give up after
// PowerTimeout with a *PowerTimeoutError, and that restart starts nothing.
func TestPowerTimeout(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"shutdown", "restart"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t, func(o *bytemark.Options) { o.PowerTimeout = 50 * time.Millisecond })
			var mu sync.Mutex
			var puts []string
			polls := 0
			mux.HandleFunc(vmPath, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if r.Method == "PUT" {
					b, _ := io.ReadAll(r.Body)
					puts = append(puts, string(b))
				} else {
					polls++
				}
				fmt.Fprint(w, onJSON) // never goes off
			})
			mux.HandleFunc(vmPath+"/signal", func(w http.ResponseWriter, r *http.Request) {})
			var err error
			if action == "shutdown" {
				err = c.ShutdownServer(t.Context(), "web1")
			} else {
				err = c.RestartServer(t.Context(), "web1")
			}
			var pt *bytemark.PowerTimeoutError
			if !errors.As(err, &pt) {
				t.Fatalf("%s error = %v, want *PowerTimeoutError", action, err)
			}
			want := &bytemark.PowerTimeoutError{Server: "web1.default.acme", Action: action, PowerOn: true, Waited: pt.Waited}
			if !cmp.Equal(pt, want) || pt.Waited < 50*time.Millisecond {
				t.Errorf("error = %+v, want %+v", pt, want)
			}
			if !strings.Contains(err.Error(), "still powered on") {
				t.Errorf("error %q does not say the server is still on", err)
			}
			if action == "restart" && !strings.Contains(err.Error(), "nothing was started") {
				t.Errorf("error %q does not say nothing was started", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []string{`{"autoreboot_on":false}`}; !cmp.Equal(puts, want) {
				t.Errorf("PUTs = %q, want only %q (nothing started)", puts, want)
			}
			if polls < 2 {
				t.Errorf("%d polls, want several", polls)
			}
		})
	}
}

// TestPowerWaitHonoursContext checks that the caller's context ends the
// wait for power off, long before PowerTimeout.
func TestPowerWaitHonoursContext(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, func(o *bytemark.Options) { o.PowerTimeout = time.Hour })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mux.HandleFunc("PUT "+vmPath, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, onJSON) })
	mux.HandleFunc("POST "+vmPath+"/signal", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET "+vmPath, func(w http.ResponseWriter, r *http.Request) {
		cancel() // the caller gives up during the first poll
		fmt.Fprint(w, onJSON)
	})
	err := c.ShutdownServer(ctx, "web1")
	var pt *bytemark.PowerTimeoutError
	if !errors.As(err, &pt) || !errors.Is(err, context.Canceled) || !pt.PowerOn {
		t.Fatalf("ShutdownServer error = %v, want *PowerTimeoutError wrapping context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "gave up (context canceled)") {
		t.Errorf("error %q does not say why it gave up", err)
	}
}

func TestNewRequestRefusesBadPaths(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	for _, path := range []string{"/accounts", "accounts/../definitions", "accounts/./x", "a/..?purge=true"} {
		if _, err := c.NewRequest(t.Context(), "DELETE", path, nil); err == nil {
			t.Errorf("NewRequest(%q) succeeded", path)
		}
	}
	req, err := c.NewRequest(t.Context(), "PUT", "accounts/a%20b/x?purge=true", map[string]int{"size": 1})
	if err != nil || req.URL.EscapedPath() != baseURLPath+"/accounts/a%20b/x" || req.URL.RawQuery != "purge=true" {
		t.Errorf("NewRequest = %v, %v", req.URL, err)
	}
}
