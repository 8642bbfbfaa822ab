package bytemarktest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

// This file replays the request sequences the official bytemark command
// line client (telyn/bytemark-client 4.0) sends, as logged by probes in
// bytemark-api.md §2.6, §3.3, §3.4, §4.5, §4.7 and §5 and, for add
// server, update server, reimage and restart --rescue, as recorded from
// the client run against `bytebot fake-bytemark`, and decodes the
// answers into the same shapes its lib/brain types use (plain strings,
// so null must decode; net.IP, so addresses must parse).

type bmcDisc struct {
	ID               int    `json:"id"`
	Label            string `json:"label"`
	Size             int    `json:"size"`
	StorageGrade     string `json:"storage_grade"`
	StoragePool      string `json:"storage_pool"`
	VirtualMachineID int    `json:"virtual_machine_id"`
}

type bmcNIC struct {
	ID               int               `json:"id"`
	Label            string            `json:"label"`
	Mac              string            `json:"mac"`
	VlanNum          int               `json:"vlan_num"`
	IPs              []net.IP          `json:"ips"`
	ExtraIPs         map[string]net.IP `json:"extra_ips"`
	VirtualMachineID int               `json:"virtual_machine_id"`
}

type bmcVM struct {
	Autoreboot            bool      `json:"autoreboot_on"`
	CdromURL              string    `json:"cdrom_url"`
	Cores                 int       `json:"cores"`
	Memory                int       `json:"memory"`
	Name                  string    `json:"name"`
	PowerOn               bool      `json:"power_on"`
	HardwareProfile       string    `json:"hardware_profile"`
	HardwareProfileLocked bool      `json:"hardware_profile_locked"`
	GroupID               int       `json:"group_id"`
	ID                    int       `json:"id"`
	ManagementAddress     net.IP    `json:"management_address"`
	Deleted               bool      `json:"deleted"`
	Hostname              string    `json:"hostname"`
	Head                  string    `json:"head"`
	Keymap                string    `json:"keymap"`
	ZoneName              string    `json:"zone_name"`
	Discs                 []bmcDisc `json:"discs"`
	NetworkInterfaces     []bmcNIC  `json:"network_interfaces"`
}

type bmcGroup struct {
	ID              int     `json:"id"`
	Name            string  `json:"name"`
	AccountID       int     `json:"account_id"`
	VirtualMachines []bmcVM `json:"virtual_machines"`
}

type bmcAccount struct {
	ID        int        `json:"id"`
	Name      string     `json:"name"`
	Suspended bool       `json:"suspended"`
	Groups    []bmcGroup `json:"groups"`
}

// cli sends requests the way bytemark-client does.
type cli struct {
	t     *testing.T
	s     *bytemarktest.Server
	base  string // endpoint, with a trailing slash as a user might configure it
	token string
}

func (c *cli) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Close = true // Connection: close
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bytemark-client-4.0")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.s.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func (c *cli) must(method, path string, body any, out any) {
	c.t.Helper()
	if code := c.do(method, path, body, out); code >= 300 {
		c.t.Fatalf("%s %s %v: status %d", method, path, body, code)
	}
}

// defaultAccount is EnsureAccountName with billing blanked: the first
// account of the overview.
func (c *cli) defaultAccount() string {
	c.t.Helper()
	var accounts []bmcAccount
	c.must("GET", "/accounts?view=overview&include_deleted=true", nil, &accounts)
	if len(accounts) == 0 {
		c.t.Fatal("no accounts")
	}
	return accounts[0].Name
}

func (c *cli) vmPath(name string) string {
	return "/accounts/" + c.defaultAccount() + "/groups/default/virtual_machines/" + name
}

func (c *cli) vmPathIn(group, name string) string {
	return "/accounts/" + c.defaultAccount() + "/groups/" + group + "/virtual_machines/" + name
}

func (c *cli) getVM(name string) bmcVM {
	c.t.Helper()
	var v bmcVM
	c.must("GET", c.vmPath(name)+"?include_deleted=true&view=overview", nil, &v)
	return v
}

// shortName is how the CLI names a server: from its hostname.
func shortName(v bmcVM) string {
	parts := strings.SplitN(v.Hostname, ".", 3)
	if len(parts) < 3 {
		return v.Hostname + "."
	}
	return parts[0] + "." + parts[1]
}

var discN = regexp.MustCompile(`^dis[ck]-(\d+)$`)

// nextDiscLabel is how `add disc` labels a disc given without a label.
func nextDiscLabel(discs []bmcDisc) string {
	m := len(discs)
	for _, d := range discs {
		if sm := discN.FindStringSubmatch(d.Label); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			m = max(m, n)
		}
	}
	return fmt.Sprintf("disc-%d", m+1)
}

func TestOfficialCLISequences(t *testing.T) {
	s := newFake(t)
	c := &clock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	s.SetNow(c.Now)
	// A trailing slash on the endpoints gives //session and //accounts.
	cl := &cli{t: t, s: s, base: s.URL() + "/"}

	// §2.6: log in, then read the session back.
	{
		req, _ := http.NewRequest("POST", cl.base+"/session",
			strings.NewReader(`{"username":"demo","password":"correct-horse-battery-staple","validity":"1800"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/plain")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Fatalf("login: %d %q", resp.StatusCode, b)
		}
		cl.token = string(b) // used untrimmed
		var sess struct {
			Username string   `json:"username"`
			Factors  []string `json:"factors"`
		}
		tok := cl.token
		cl.token = ""
		cl.must("GET", "/session/"+tok, nil, &sess)
		cl.token = tok
		if sess.Username != bytemarktest.Username || len(sess.Factors) == 0 {
			t.Fatalf("session = %+v", sess)
		}
		if n := s.Calls("", "//"); n != 0 {
			t.Errorf("double slashes were logged un-normalised")
		}
	}

	t.Run("show servers", func(t *testing.T) {
		cl.t = t
		var accounts []bmcAccount
		cl.must("GET", "/accounts?view=overview&include_deleted=true", nil, &accounts)
		if accounts[0].Name != "acme" {
			t.Fatalf("default account = %s", accounts[0].Name)
		}
		var shown []string
		for _, g := range accounts[0].Groups {
			for _, v := range g.VirtualMachines {
				shown = append(shown, shortName(v))
			}
		}
		if got := strings.Join(shown, " "); got != "web1.default web2.default db1.default old1.default stage1.staging" {
			t.Errorf("servers shown = %s", got)
		}
	})

	t.Run("show server", func(t *testing.T) {
		cl.t = t
		v := cl.getVM("web1")
		if shortName(v) != "web1.default" || len(v.Discs) != 1 || len(v.NetworkInterfaces) != 1 ||
			len(v.NetworkInterfaces[0].IPs) != 2 || v.NetworkInterfaces[0].IPs[0].To4() == nil || v.NetworkInterfaces[0].IPs[1].To4() != nil ||
			v.ManagementAddress == nil || v.Head == "" || v.CdromURL != "" || v.Keymap != "" {
			t.Errorf("show server web1 = %+v", v)
		}
		// A numeric argument goes into the nested path as is.
		var byID bmcVM
		cl.must("GET", "/accounts/acme/groups/default/virtual_machines/"+strconv.Itoa(v.ID)+"?include_deleted=true&view=overview", nil, &byID)
		if byID.Name != "web1" {
			t.Errorf("by id = %+v", byID)
		}
		// And `show server 1001` without a group uses the non-nested GET.
		cl.must("GET", "/virtual_machines/"+strconv.Itoa(v.ID)+"?include_deleted=true&view=overview", nil, &byID)
		if len(byID.Discs) != 1 {
			t.Errorf("non-nested overview = %+v", byID)
		}
	})

	t.Run("shutdown and restart poll until off", func(t *testing.T) {
		cl.t = t
		s.SetPowerdownDelay(10 * time.Second)
		defer s.SetPowerdownDelay(0)
		vm := cl.vmPath("web1")
		cl.must("PUT", vm, map[string]any{"autoreboot_on": false}, nil)
		var sig map[string]string
		cl.must("POST", vm+"/signal", map[string]any{"signal": "powerdown"}, &sig)
		if sig["signal"] != "powerdown" {
			t.Errorf("signal answer = %v", sig)
		}
		polls := 0
		for {
			c.advance(5 * time.Second) // the CLI sleeps 5s between polls
			polls++
			if !cl.getVM("web1").PowerOn {
				break
			}
			if polls > 10 {
				t.Fatal("web1 never powered off")
			}
		}
		if polls != 2 {
			t.Errorf("powered off after %d polls; want 2 with a 10s delay", polls)
		}
		cl.must("PUT", vm, map[string]any{"autoreboot_on": true, "power_on": true}, nil)
		if v := cl.getVM("web1"); !v.PowerOn || !v.Autoreboot || v.Head == "" {
			t.Errorf("after restart = %+v", v)
		}
	})

	t.Run("stop, start, reset", func(t *testing.T) {
		cl.t = t
		vm := cl.vmPath("web2")
		cl.must("PUT", vm, map[string]any{"autoreboot_on": false, "power_on": false}, nil)
		if v := cl.getVM("web2"); v.PowerOn || v.Head != "" {
			t.Errorf("after stop = %+v", v)
		}
		cl.must("PUT", vm, map[string]any{"autoreboot_on": true, "power_on": true}, nil)
		cl.must("POST", vm+"/signal", map[string]any{"signal": "reset"}, nil)
		if v := cl.getVM("web2"); !v.PowerOn {
			t.Errorf("after start and reset = %+v", v)
		}
	})

	t.Run("delete, delete again, restore, purge", func(t *testing.T) {
		cl.t = t
		if v := cl.getVM("web2"); v.Deleted {
			t.Fatal("already deleted")
		}
		if code := cl.do("DELETE", cl.vmPath("web2"), nil, nil); code != 204 {
			t.Fatalf("delete = %d", code)
		}
		// A second `delete server web2` GETs, sees deleted, sends nothing.
		if v := cl.getVM("web2"); !v.Deleted || v.PowerOn {
			t.Errorf("after delete = %+v", v)
		}
		cl.getVM("web2") // restore server GETs first too
		cl.must("PUT", cl.vmPath("web2"), map[string]any{"deleted": false}, nil)
		if v := cl.getVM("web2"); v.Deleted {
			t.Errorf("after restore = %+v", v)
		}
		cl.getVM("old1")
		if code := cl.do("DELETE", cl.vmPath("old1")+"?purge=true", nil, nil); code != 204 {
			t.Fatalf("purge = %d", code)
		}
		if code := cl.do("GET", cl.vmPath("old1")+"?include_deleted=true&view=overview", nil, nil); code != 404 {
			t.Errorf("GET purged = %d; want 404", code)
		}
	})

	t.Run("discs", func(t *testing.T) {
		cl.t = t
		vm := cl.vmPath("db1")
		label := nextDiscLabel(cl.getVM("db1").Discs)
		if label != "disc-4" {
			t.Errorf("next label = %s", label)
		}
		var d bmcDisc
		cl.must("POST", vm+"/discs", map[string]any{"label": label, "storage_grade": "archive", "size": 51200}, &d)
		if d.Label != label || d.StoragePool != "t1-archive1" || d.ID == 0 {
			t.Errorf("created = %+v", d)
		}
		v := cl.getVM("db1") // show discs
		if len(v.Discs) != 4 || v.Discs[3].Label != label || nextDiscLabel(v.Discs) != "disc-5" {
			t.Errorf("discs = %+v", v.Discs)
		}
		var shown bmcDisc
		cl.must("GET", vm+"/discs/"+label, nil, &shown) // show disc db1 disc-4
		cl.must("GET", "/discs/"+strconv.Itoa(d.ID), nil, &shown)
		// update disc --new-size +5: read, add 5 GiB, PUT the absolute size.
		cl.must("PUT", vm+"/discs/"+label, map[string]any{"size": shown.Size + 5*1024}, nil)
		cl.must("GET", vm+"/discs/"+label, nil, &shown)
		if shown.Size != 51200+5120 {
			t.Errorf("size after resize = %d", shown.Size)
		}
		if code := cl.do("DELETE", vm+"/discs/"+label+"?purge=true", nil, nil); code != 204 {
			t.Errorf("delete disc = %d", code)
		}
		backups := cl.getVM("db1").Discs[2]
		if code := cl.do("DELETE", "/discs/"+strconv.Itoa(backups.ID)+"?purge=true", nil, nil); code != 204 {
			t.Errorf("delete disc --id = %d", code)
		}
		if v := cl.getVM("db1"); len(v.Discs) != 2 {
			t.Errorf("discs after deletes = %+v", v.Discs)
		}
	})

	t.Run("add server", func(t *testing.T) {
		cl.t = t
		s.ResetRequests()
		var defs []struct {
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		tok := cl.token
		cl.token = ""
		cl.must("GET", "/definitions", nil, &defs) // without --force, no auth
		cl.token = tok
		body := map[string]any{
			"virtual_machine": map[string]any{"autoreboot_on": true, "cores": 2, "memory": 2048, "name": "new1"},
			"discs": []any{
				map[string]any{"label": "disc-1", "storage_grade": "sata", "size": 25600,
					"backup_schedules": []any{map[string]any{"start_at": "2026-11-23 00:00:00 UTC", "interval_seconds": 604800, "capacity": 1}}},
			},
			"reimage": map[string]any{"distribution": "symbiosis", "firstboot_script": "", "root_password": "s3cret", "ssh_public_key": ""},
		}
		var created bmcVM
		cl.defaultAccount()
		cl.must("POST", "/accounts/acme/groups/default/vm_create", body, &created)
		body1, _ := json.Marshal(body)
		v := cl.getVM("new1")
		if v.ID != created.ID || !v.PowerOn || shortName(v) != "new1.default" || len(v.Discs) != 1 {
			t.Errorf("new1 = %+v", v)
		}

		// add server --force --stopped --no-image new4: no reimage, no
		// autoreboot_on; the server is made, off, and readable at once.
		cl.defaultAccount()
		body = map[string]any{
			"virtual_machine": map[string]any{"cores": 1, "memory": 1024, "name": "new4"},
			"discs": []any{
				map[string]any{"label": "disc-1", "storage_grade": "sata", "size": 25600,
					"backup_schedules": []any{map[string]any{"start_at": "2026-11-30 00:00:00 UTC", "interval_seconds": 604800, "capacity": 1}}},
			},
		}
		cl.must("POST", "/accounts/acme/groups/default/vm_create", body, &created)
		if v := cl.getVM("new4"); v.ID != created.ID || v.PowerOn || v.Autoreboot || len(v.Discs) != 1 || v.Discs[0].Size != 25600 {
			t.Errorf("new4 = %+v", v)
		}
		body4, _ := json.Marshal(body)
		wantLog(t, s,
			"GET /definitions",
			"GET /accounts?view=overview&include_deleted=true",
			"POST /accounts/acme/groups/default/vm_create "+string(body1),
			"GET /accounts?view=overview&include_deleted=true",
			"GET "+acmeVMs+"/new1?include_deleted=true&view=overview",
			"GET /accounts?view=overview&include_deleted=true",
			"POST /accounts/acme/groups/default/vm_create "+string(body4),
			"GET /accounts?view=overview&include_deleted=true",
			"GET "+acmeVMs+"/new4?include_deleted=true&view=overview",
		)
		cl.defaultAccount()
		if code := cl.do("POST", "/accounts/acme/groups/default/vm_create", body, nil); code != 400 {
			t.Errorf("add server new4 again = %d; want 400 (name taken)", code)
		}
		cl.defaultAccount()
		if code := cl.do("POST", "/accounts/acme/groups/nosuch/vm_create", body, nil); code != 404 {
			t.Errorf("add server new5.nosuch = %d; want 404", code)
		}
	})

	t.Run("show account and groups", func(t *testing.T) {
		cl.t = t
		var a bmcAccount
		cl.must("GET", "/accounts/acme?view=overview&include_deleted=true", nil, &a)
		if a.Name != "acme" || len(a.Groups) != 2 {
			t.Errorf("account = %+v", a)
		}
		var g bmcGroup
		cl.must("GET", "/accounts/acme/groups/staging?view=overview&include_deleted=true", nil, &g)
		if len(g.VirtualMachines) != 1 || shortName(g.VirtualMachines[0]) != "stage1.staging" {
			t.Errorf("group = %+v", g)
		}
	})

	// The sequences below were recorded from bytemark-client 4.0 run
	// against `bytebot fake-bytemark` (an API key in its token file, no
	// --account); each subtest checks that it sends the same requests, in
	// the same order, as the recording.

	t.Run("update server --memory, --cores", func(t *testing.T) {
		cl.t = t
		s.ResetRequests()
		// with.VirtualMachine("server") reads the server first; then one
		// PUT of one attribute per flag. --cores 0 and --memory 0 send no
		// PUT at all.
		cl.getVM("new1")
		cl.must("PUT", cl.vmPath("new1"), map[string]any{"memory": 4096}, nil)
		cl.getVM("new1")
		cl.must("PUT", cl.vmPath("new1"), map[string]any{"cores": 4}, nil)
		wantLog(t, s,
			"GET /accounts?view=overview&include_deleted=true", "GET "+acmeVMs+"/new1?include_deleted=true&view=overview",
			"GET /accounts?view=overview&include_deleted=true", "PUT "+acmeVMs+"/new1 {\"memory\":4096}",
			"GET /accounts?view=overview&include_deleted=true", "GET "+acmeVMs+"/new1?include_deleted=true&view=overview",
			"GET /accounts?view=overview&include_deleted=true", "PUT "+acmeVMs+"/new1 {\"cores\":4}",
		)
		if v, _ := s.Server("acme", "default", "new1"); v.Memory != 4096 || v.Cores != 4 || !v.PowerOn {
			t.Errorf("new1 after update = %+v", v)
		}
	})

	// newName is `update server --new-name NEW[.GROUP] --server OLD`:
	// read the server, resolve both names (two account reads), read the
	// target group, PUT the name and the group's id together. It returns
	// the status of the last request.
	newName := func(group, old, name, target string) int {
		oldPath := "/accounts/acme/groups/" + group + "/virtual_machines/" + old
		cl.defaultAccount()
		cl.must("GET", oldPath+"?include_deleted=true&view=overview", nil, nil)
		cl.defaultAccount()
		cl.defaultAccount()
		var g bmcGroup
		if code := cl.do("GET", "/accounts/acme/groups/"+target+"?view=overview&include_deleted=true", nil, &g); code != 200 {
			return code
		}
		return cl.do("PUT", oldPath, map[string]any{"name": name, "group_id": g.ID}, nil)
	}
	moveLog := func(group, old, target, body string) []string {
		return []string{
			"GET /accounts?view=overview&include_deleted=true",
			"GET /accounts/acme/groups/" + group + "/virtual_machines/" + old + "?include_deleted=true&view=overview",
			"GET /accounts?view=overview&include_deleted=true",
			"GET /accounts?view=overview&include_deleted=true",
			"GET /accounts/acme/groups/" + target + "?view=overview&include_deleted=true",
			"PUT /accounts/acme/groups/" + group + "/virtual_machines/" + old + " " + body,
		}
	}

	t.Run("update server --new-name: rename, taken name, move", func(t *testing.T) {
		cl.t = t
		def, _ := s.Server("acme", "default", "web1")
		stage, _ := s.Server("acme", "staging", "stage1")
		s.ResetRequests()
		if code := newName("default", "new1", "new2", "default"); code != 200 {
			t.Fatalf("rename new1 to new2 = %d", code)
		}
		wantLog(t, s, moveLog("default", "new1", "default", fmt.Sprintf(`{"group_id":%d,"name":"new2"}`, def.GroupID))...)
		if v, ok := s.Server("acme", "default", "new2"); !ok || v.Memory != 4096 {
			t.Errorf("renamed = %+v", v)
		}

		// A taken name is refused with {"name":["has already been
		// taken"]} (shown as "• Name has already been taken", exit 157).
		// A running server cannot move: the refusal names group_id.
		for _, tt := range []struct{ name, target, attr string }{
			{"web2", "default", "name"},
			{"new2", "staging", "group_id"},
		} {
			s.ResetRequests()
			if code := newName("default", "new2", tt.name, tt.target); code != 400 {
				t.Errorf("--new-name %s.%s = %d; want 400", tt.name, tt.target, code)
			}
			last := s.Requests()[len(s.Requests())-1]
			var problems map[string][]string
			r := api(t, s, last.Method, last.Path, last.Body)
			if err := json.Unmarshal([]byte(r.body), &problems); err != nil || len(problems[tt.attr]) == 0 {
				t.Errorf("--new-name %s.%s: 400 body %s; want {%q: [...]}", tt.name, tt.target, r.body, tt.attr)
			}
			if v, ok := s.Server("acme", "default", "new2"); !ok || v.GroupID != def.GroupID || !v.PowerOn {
				t.Errorf("a refused --new-name %s.%s changed the server: %+v", tt.name, tt.target, v)
			}
		}

		// stop server new2, then the move goes through.
		s.ResetRequests()
		cl.defaultAccount()
		cl.must("PUT", "/accounts/acme/groups/default/virtual_machines/new2", map[string]any{"autoreboot_on": false, "power_on": false}, nil)
		if code := newName("default", "new2", "new2", "staging"); code != 200 {
			t.Fatalf("move stopped new2 = %d", code)
		}
		wantLog(t, s, append([]string{
			"GET /accounts?view=overview&include_deleted=true",
			"PUT /accounts/acme/groups/default/virtual_machines/new2 {\"autoreboot_on\":false,\"power_on\":false}",
		}, moveLog("default", "new2", "staging", fmt.Sprintf(`{"group_id":%d,"name":"new2"}`, stage.GroupID))...)...)
		moved, ok := s.Server("acme", "staging", "new2")
		if !ok || moved.GroupID != stage.GroupID || moved.PowerOn || moved.Hostname != "new2.staging.acme.uk0.bigv.io" {
			t.Errorf("moved = %+v", moved)
		}
		if _, ok := s.Server("acme", "default", "new2"); ok {
			t.Error("new2 is still in default after the move")
		}

		// An unknown target group: its read is 404 (exit 156), no PUT.
		s.ResetRequests()
		if code := newName("staging", "new2", "new2", "nosuch"); code != 404 {
			t.Errorf("--new-name new2.nosuch = %d; want 404", code)
		}
		wantLog(t, s, moveLog("staging", "new2", "nosuch", "")[:5]...)
	})

	t.Run("reimage server", func(t *testing.T) {
		cl.t = t
		image := map[string]any{"distribution": "noble", "firstboot_script": "", "root_password": "pw2secret", "ssh_public_key": ""}
		// --force: no definitions check. A running server is refused on
		// power_on ("• Power on the server must be powered off…", exit
		// 157), and nothing changes.
		before, _ := s.Server("acme", "default", "web1")
		s.ResetRequests()
		cl.defaultAccount()
		r := api(t, s, "POST", acmeVMs+"/web1/reimage", `{"distribution":"noble","firstboot_script":"","root_password":"pw2secret","ssh_public_key":""}`)
		var problems map[string][]string
		if err := json.Unmarshal([]byte(r.body), &problems); r.status != 400 || err != nil || len(problems["power_on"]) == 0 {
			t.Errorf("reimage running web1 = %d %s", r.status, r.body)
		}
		if strings.Contains(r.body, "pw2secret") {
			t.Errorf("the refusal echoes the root password: %s", r.body)
		}
		if after, _ := s.Server("acme", "default", "web1"); !cmp.Equal(after, before) {
			t.Errorf("a refused reimage changed web1: %s", cmp.Diff(before, after))
		}

		// new2.staging is off: imaged, then on with autoreboot off.
		cl.defaultAccount()
		cl.must("POST", "/accounts/acme/groups/staging/virtual_machines/new2/reimage", image, nil)
		wantLog(t, s,
			"GET /accounts?view=overview&include_deleted=true",
			"POST "+acmeVMs+"/web1/reimage {\"distribution\":\"noble\",\"firstboot_script\":\"\",\"root_password\":\"pw2secret\",\"ssh_public_key\":\"\"}",
			"GET /accounts?view=overview&include_deleted=true",
			"POST /accounts/acme/groups/staging/virtual_machines/new2/reimage {\"distribution\":\"noble\",\"firstboot_script\":\"\",\"root_password\":\"pw2secret\",\"ssh_public_key\":\"\"}",
		)
		if srv, _ := s.Server("acme", "staging", "new2"); !srv.PowerOn || srv.AutorebootOn || srv.LastImagedWith != "noble" {
			t.Errorf("after reimage = %+v", srv)
		}

		// Without --force the image is checked against the definitions
		// (no auth) first: windows95 stops there (exit 7), before any
		// write.
		s.ResetRequests()
		tok := cl.token
		cl.token = ""
		var defs []struct {
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		cl.must("GET", "/definitions", nil, &defs)
		cl.token = tok
		wantLog(t, s, "GET /definitions")
		found := false
		for _, d := range defs {
			var dists []string
			if d.ID == "distributions" && json.Unmarshal(d.Data, &dists) == nil {
				found = slices.Contains(dists, "noble") && !slices.Contains(dists, "windows95")
			}
		}
		if !found {
			t.Errorf("definitions = %+v; want noble and no windows95 among the distributions", defs)
		}
	})

	t.Run("restart server --rescue", func(t *testing.T) {
		cl.t = t
		vm := "/accounts/acme/groups/staging/virtual_machines/new2"
		// restart is shutdown (autoreboot off, powerdown, poll every 5s)
		// then a start; --rescue adds the appliance to the start.
		restart := func(start map[string]any) {
			s.ResetRequests()
			cl.defaultAccount()
			cl.must("PUT", vm, map[string]any{"autoreboot_on": false}, nil)
			cl.must("POST", vm+"/signal", map[string]any{"signal": "powerdown"}, nil)
			c.advance(5 * time.Second)
			cl.defaultAccount()
			var v bmcVM
			cl.must("GET", vm+"?include_deleted=true&view=overview", nil, &v)
			if v.PowerOn {
				t.Fatal("new2 did not power off")
			}
			cl.defaultAccount()
			cl.must("PUT", vm, start, nil)
			b, _ := json.Marshal(start)
			wantLog(t, s,
				"GET /accounts?view=overview&include_deleted=true",
				"PUT "+vm+" {\"autoreboot_on\":false}",
				"POST "+vm+"/signal {\"signal\":\"powerdown\"}",
				"GET /accounts?view=overview&include_deleted=true",
				"GET "+vm+"?include_deleted=true&view=overview",
				"GET /accounts?view=overview&include_deleted=true",
				"PUT "+vm+" "+string(b),
			)
		}
		restart(map[string]any{"appliance": map[string]any{"name": "rescue", "permanent": false}, "autoreboot_on": true, "power_on": true})
		if app, _ := s.Appliance("acme", "staging", "new2"); app != "rescue" {
			t.Errorf("appliance after restart --rescue = %q; want rescue", app)
		}
		if srv, _ := s.Server("acme", "staging", "new2"); !srv.PowerOn || !srv.AutorebootOn {
			t.Errorf("after restart --rescue = %+v", srv)
		}
		// A plain restart boots the server's own system (permanent: false).
		restart(map[string]any{"autoreboot_on": true, "power_on": true})
		if app, _ := s.Appliance("acme", "staging", "new2"); app != "" {
			t.Errorf("appliance after a plain restart = %q; want none", app)
		}
	})

	t.Run("400 bodies decode as bytemark-client parses them", func(t *testing.T) {
		cl.t = t
		for _, tt := range []struct {
			method, path string
			body         any
		}{
			{"PUT", cl.vmPath("web1"), map[string]any{"memory": "lots"}},
			{"PUT", cl.vmPath("web1"), map[string]any{"hardware_profile": "x"}},
			{"POST", cl.vmPath("web1") + "/discs", map[string]any{"label": "vdb", "size": 1024}},
		} {
			b, _ := json.Marshal(tt.body)
			r := api(t, s, tt.method, tt.path, string(b))
			var problems map[string][]string
			if err := json.Unmarshal([]byte(r.body), &problems); r.status != 400 || err != nil || len(problems) == 0 {
				t.Errorf("%s %s %s = %d %s (%v)", tt.method, tt.path, b, r.status, r.body, err)
			}
		}
	})

	// Every authenticated request extended the session on the fake clock.
	if code := cl.do("GET", "/accounts", nil, nil); code != 200 {
		t.Errorf("session lost after the sequence: %d", code)
	}
}

// wantLog checks the fake's request log: "METHOD /path[?query][ body]"
// per request, bodies as JSON with sorted keys (the CLI's own key order
// varies: a struct's field order, or a hand-written string).
func wantLog(t *testing.T, s *bytemarktest.Server, want ...string) {
	t.Helper()
	var got []string
	for _, r := range s.Requests() {
		line := r.Method + " " + r.Path
		if r.Query != "" {
			line += "?" + r.Query
		}
		if r.Body != "" {
			var v any
			body := r.Body
			if json.Unmarshal([]byte(body), &v) == nil {
				b, _ := json.Marshal(v)
				body = string(b)
			}
			line += " " + body
		}
		got = append(got, line)
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n%s", cmp.Diff(want, got))
	}
}
