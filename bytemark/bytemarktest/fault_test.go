package bytemarktest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

func TestFailNext(t *testing.T) {
	tests := []struct {
		name            string
		method, pattern string
		status, n       int
		reqs            []string // "METHOD path"
		want            []int
	}{
		{"n matching requests fail, then normal", "PUT", "/virtual_machines/web1", 503, 2,
			[]string{"PUT " + web1, "GET " + web1, "PUT " + web1, "PUT " + web1},
			[]int{503, 200, 503, 200}},
		{"any method", "", "/accounts", 500, 1,
			[]string{"GET /accounts", "GET /accounts"},
			[]int{500, 200}},
		{"glob pattern", "POST", "/accounts/*/signal", 502, 1,
			[]string{"POST " + db1 + "/discs", "POST " + web1 + "/signal"},
			[]int{400, 502}},
		{"auth host too", "POST", "/session", 503, 1,
			[]string{"POST /session", "POST /session"},
			[]int{503, 200}},
		{"before authentication", "GET", "/definitions", 429, 1,
			[]string{"GET /definitions", "GET /definitions"},
			[]int{429, 200}},
		{"400 in the API's shape", "PUT", "web1", 400, 1,
			[]string{"PUT " + web1},
			[]int{400}},
	}
	bodies := map[string]string{
		"PUT":  `{"cores":1}`,
		"POST": `{"signal":"reset"}`,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.FailNext(tt.method, tt.pattern, tt.status, tt.n)
			for i, req := range tt.reqs {
				method, path, _ := strings.Cut(req, " ")
				body := bodies[method]
				if path == "/session" {
					body = `{"username":"demo","password":"correct-horse-battery-staple"}`
				}
				if strings.HasSuffix(path, "/discs") {
					body = `{"label":"vdz","size":1024}`
				}
				r := api(t, s, method, path, body)
				if r.status != tt.want[i] {
					t.Fatalf("request %d %s: status %d body %q; want %d", i, req, r.status, r.body, tt.want[i])
				}
				if r.status == 400 && tt.status == 400 {
					if _, ok := r.problems(t)["base"]; !ok {
						t.Errorf("injected 400 body = %s", r.body)
					}
				}
			}
			injected := 0
			for _, r := range s.Requests() {
				if r.Injected {
					injected++
					if r.Status != tt.status {
						t.Errorf("injected request logged with status %d", r.Status)
					}
				}
			}
			if injected != tt.n {
				t.Errorf("%d requests logged as injected; want %d", injected, tt.n)
			}
		})
	}

	t.Run("a failed write changes nothing and ClearFaults", func(t *testing.T) {
		s := newFake(t)
		s.FailNext("PUT", "", 503, 5)
		mustStatus(t, api(t, s, "PUT", web1, `{"cores":4}`), 503, "injected")
		if srv, _ := s.Server("acme", "default", "web1"); srv.Cores != 1 {
			t.Errorf("cores changed by a failed request")
		}
		s.ClearFaults()
		mustStatus(t, api(t, s, "PUT", web1, `{"cores":4}`), 200, "after ClearFaults")
	})
}

func TestLatency(t *testing.T) {
	s := newFake(t)
	s.SetLatency(time.Hour)

	// The request's context cuts the delay short.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/accounts", nil)
	req.Header.Set("Authorization", apiKeyAuth)
	start := time.Now()
	_, err := s.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want a deadline", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}

	// The auth host is not delayed.
	done := make(chan int, 1)
	go func() {
		r, err := http.Post(s.URL()+"/session", "application/json", strings.NewReader(`{"username":"demo","password":"correct-horse-battery-staple"}`))
		if err != nil {
			done <- 0
			return
		}
		r.Body.Close()
		done <- r.StatusCode
	}()
	select {
	case code := <-done:
		if code != 200 {
			t.Errorf("login = %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("login delayed by SetLatency")
	}

	// Small latency is applied.
	s.SetLatency(30 * time.Millisecond)
	start = time.Now()
	mustStatus(t, api(t, s, "GET", "/accounts", ""), 200, "delayed request")
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("request took %s; want at least 30ms", took)
	}
	s.SetLatency(0)
}

func TestCloseReleasesDelayedRequests(t *testing.T) {
	s := bytemarktest.NewServer()
	s.SetLatency(time.Hour)
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/accounts", nil)
		req.Header.Set("Authorization", apiKeyAuth)
		resp, err := s.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	// Wait until the request is in the server.
	for s.Calls("GET", "/accounts") == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a delayed request")
	}
	<-errc
	s.Close() // twice is fine
	bytemarktest.NewUnstartedServer().Close()
}

func TestRequestLog(t *testing.T) {
	s := newFake(t)
	api(t, s, "GET", web1+"?include_deleted=true&view=overview", "")
	api(t, s, "PUT", web1, `{"autoreboot_on":false}`)
	api(t, s, "POST", web1+"/signal", `{"signal":"powerdown"}`)
	send(t, s, "", "GET", "//session/nope", "")

	reqs := s.Requests()
	if len(reqs) != 4 {
		t.Fatalf("logged %d requests: %+v", len(reqs), reqs)
	}
	want := []bytemarktest.Request{
		{Method: "GET", Path: web1, Query: "include_deleted=true&view=overview", Auth: bytemarktest.AuthAPIKey, Status: 200},
		{Method: "PUT", Path: web1, Body: `{"autoreboot_on":false}`, Auth: bytemarktest.AuthAPIKey, Status: 200},
		{Method: "POST", Path: web1 + "/signal", Body: `{"signal":"powerdown"}`, Auth: bytemarktest.AuthAPIKey, Status: 200},
		{Method: "GET", Path: "/session/nope", Auth: bytemarktest.AuthNone, Status: 404},
	}
	for i, w := range want {
		g := reqs[i]
		if g.Method != w.Method || g.Path != w.Path || g.Query != w.Query || g.Body != w.Body || g.Auth != w.Auth || g.Status != w.Status {
			t.Errorf("request %d = %+v; want %+v", i, g, w)
		}
		if g.Time.IsZero() || g.Header.Get("User-Agent") != "bytemark-client-4.0" {
			t.Errorf("request %d time %v header %v", i, g.Time, g.Header)
		}
	}
	// A copy: changing it changes nothing.
	reqs[0].Header.Set("User-Agent", "x")
	reqs[0].Path = "x"
	if again := s.Requests()[0]; again.Path != web1 || again.Header.Get("User-Agent") != "bytemark-client-4.0" {
		t.Errorf("Requests() shares memory with the log")
	}
	if n := s.Calls("PUT", "/web1"); n != 1 {
		t.Errorf("Calls(PUT, /web1) = %d", n)
	}
	if n := s.Calls("", "/web1"); n != 3 {
		t.Errorf("Calls('', /web1) = %d", n)
	}
	if n := s.Calls("get", "/session"); n != 1 {
		t.Errorf("Calls(get, /session) = %d", n)
	}
	s.ResetRequests()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("after ResetRequests %d requests", n)
	}
}

// TestRequestLogLimit: with a limit the log keeps the newest requests only,
// however many were served.
func TestRequestLogLimit(t *testing.T) {
	s := newFake(t)
	s.SetLogLimit(3)
	for i := range 10 {
		api(t, s, "GET", web1+"?n="+strconv.Itoa(i), "")
	}
	reqs := s.Requests()
	var got []string
	for _, r := range reqs {
		got = append(got, r.Query)
	}
	if want := []string{"n=7", "n=8", "n=9"}; !slices.Equal(got, want) {
		t.Errorf("log holds %v; want %v", got, want)
	}
	if n := s.Calls("GET", "/web1"); n != 3 {
		t.Errorf("Calls = %d; want 3 (the requests the log holds)", n)
	}
	s.SetLogLimit(0)
	api(t, s, "GET", web1, "")
	if n := len(s.Requests()); n < 4 {
		t.Errorf("without a limit the log holds %d; want the 3 kept and the new one", n)
	}
}

func TestAddServer(t *testing.T) {
	s := newFake(t)
	srv, err := s.AddServer("acme", "batch", bytemark.Server{
		Name: "worker1", Cores: 8, Memory: 16384, PowerOn: true, AutorebootOn: true,
		Discs: []bytemark.Disc{{Label: "vda", Size: 25600}, {Label: "scratch", Size: 102400, StorageGrade: "ssd"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if srv.ID == 0 || srv.Hostname != "worker1.batch.acme.uk0.bigv.io" || len(srv.Discs) != 2 || srv.Discs[0].StorageGrade != "sata" || len(srv.NetworkInterfaces) != 1 || srv.Head == "" {
		t.Errorf("AddServer = %+v", srv)
	}
	v := getVM(t, s, "/accounts/acme/groups/batch/virtual_machines/worker1")
	if v.ID != srv.ID || !v.PowerOn || v.Discs[1].StoragePool != "tail1-ssd1" {
		t.Errorf("over the API = %+v", v)
	}
	if _, err := s.AddServer("acme", "batch", bytemark.Server{Name: "worker1"}); err == nil {
		t.Errorf("duplicate AddServer succeeded")
	}
	if _, err := s.AddServer("nope", "default", bytemark.Server{Name: "x"}); err == nil {
		t.Errorf("AddServer to a missing account succeeded")
	}
	plain, _ := s.AddServer("acme", "default", bytemark.Server{Name: "plain"})
	if len(plain.Discs) != 1 || plain.Discs[0].Label != "root" || plain.Discs[0].Size != 25600 || plain.PowerOn {
		t.Errorf("defaults = %+v", plain)
	}

	// Path parts escaped with url.QueryEscape: a space arrives as "+".
	if _, err := s.AddServer("acme", "default", bytemark.Server{Name: "legacy box"}); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, api(t, s, "GET", acmeVMs+"/legacy+box", ""), 200, "name with + for a space")
	mustStatus(t, api(t, s, "GET", acmeVMs+"/legacy%20box", ""), 200, "name with %20")

	id, err := s.AddAccount("newco", bytemarktest.AccessRead)
	if err != nil || id == 0 {
		t.Fatalf("AddAccount = %d, %v", id, err)
	}
	mustStatus(t, api(t, s, "GET", "/accounts/newco/groups/default", ""), 200, "new account")
	mustStatus(t, api(t, s, "POST", "/accounts/newco/groups", `{"name":"x"}`), 403, "read-only new account")
	if _, err := s.AddAccount("acme", bytemarktest.AccessFull); err == nil {
		t.Errorf("duplicate AddAccount succeeded")
	}
	if len(s.Accounts()) != 4 {
		t.Errorf("Accounts() = %d", len(s.Accounts()))
	}
}

// TestConcurrentUse hammers the fake from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := newFake(t)
	token := login(t, s, nil)
	s.ResetRequests()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			client := s.Client()
			for j := range 10 {
				var req *http.Request
				switch (i + j) % 4 {
				case 0:
					req, _ = http.NewRequest("GET", s.URL()+"/accounts?view=overview&include_deleted=true", nil)
				case 1:
					req, _ = http.NewRequest("PUT", s.URL()+web1, strings.NewReader(`{"autoreboot_on":true,"power_on":true}`))
				case 2:
					req, _ = http.NewRequest("POST", s.URL()+web1+"/signal", strings.NewReader(`{"signal":"reset"}`))
				case 3:
					req, _ = http.NewRequest("GET", s.URL()+"/session/"+token, nil)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					t.Errorf("%s %s = %d", req.Method, req.URL.Path, resp.StatusCode)
				}
				s.Server("acme", "default", "web1")
				s.Calls("", "web1")
				s.Requests()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.SetPower("acme", "default", "web2", false)
			s.SetLatency(0)
			s.FailNext("DELETE", "/nothing", 500, 1)
		}
	})
	wg.Wait()
	if n := len(s.Requests()); n != 16*10 {
		t.Errorf("logged %d requests; want %d", n, 160)
	}
}
