package bytemarktest_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPower(t *testing.T) {
	type step struct {
		method, path, body string
		want               int
		wantOn             *bool // after the step
		wantBody           string
	}
	on, off := new(true), new(false)
	tests := []struct {
		name  string
		steps []step
	}{
		{"shutdown: autoreboot off, then powerdown turns power off", []step{
			{"PUT", web1, `{"autoreboot_on":false}`, 200, on, ""},
			{"POST", web1 + "/signal", `{"signal":"powerdown"}`, 200, off, `{"signal":"powerdown"}`},
		}},
		{"powerdown with autoreboot on comes straight back", []step{
			{"POST", web1 + "/signal", `{"signal":"powerdown"}`, 200, on, ""},
		}},
		{"reset keeps it on", []step{
			{"POST", web1 + "/signal", `{"signal":"reset"}`, 200, on, `{"signal":"reset"}`},
		}},
		{"sendkey", []step{
			{"POST", web1 + "/signal", `{"signal":"sendkey","data":"ctrl-alt-delete"}`, 200, on, ""},
			{"POST", web1 + "/signal", `{"signal":"sendkey"}`, 400, on, ""},
			{"POST", web1 + "/signal", `{"signal":"sendkey","data":"ctrl-frobnicate"}`, 400, on, ""},
		}},
		{"unknown signal", []step{
			{"POST", web1 + "/signal", `{"signal":"explode"}`, 400, on, ""},
			{"POST", web1 + "/signal", `{}`, 400, on, ""},
		}},
		{"stop, then signals need a running server, then start", []step{
			{"PUT", web1, `{"autoreboot_on":false,"power_on":false}`, 200, off, ""},
			{"POST", web1 + "/signal", `{"signal":"powerdown"}`, 400, off, ""},
			{"POST", web1 + "/signal", `{"signal":"reset"}`, 400, off, ""},
			{"PUT", web1, `{"autoreboot_on":true,"power_on":true}`, 200, on, ""},
		}},
		{"reboot PUT (autoreboot on, power off) comes back on", []step{
			{"PUT", web1, `{"autoreboot_on":true,"power_on":false}`, 200, on, ""},
		}},
		{"power_on false alone with autoreboot off", []step{
			{"PUT", web1, `{"autoreboot_on":false}`, 200, on, ""},
			{"PUT", web1, `{"power_on":false}`, 200, off, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			for i, st := range tt.steps {
				r := api(t, s, st.method, st.path, st.body)
				if r.status != st.want {
					t.Fatalf("step %d %s %s %s: status %d body %q; want %d", i, st.method, st.path, st.body, r.status, r.body, st.want)
				}
				if st.wantBody != "" && r.body != st.wantBody {
					t.Errorf("step %d: body %q; want %q", i, r.body, st.wantBody)
				}
				srv, _ := s.Server("acme", "default", "web1")
				if st.wantOn != nil && srv.PowerOn != *st.wantOn {
					t.Fatalf("step %d: power_on %v; want %v", i, srv.PowerOn, *st.wantOn)
				}
				v := getVM(t, s, web1)
				if (v.Head != nil) != v.PowerOn {
					t.Errorf("step %d: head %v with power_on %v", i, v.Head, v.PowerOn)
				}
			}
		})
	}
}

func TestPowerdownDelayAndHang(t *testing.T) {
	s := newFake(t)
	c := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.SetNow(c.Now)
	s.SetPowerdownDelay(10 * time.Second)
	mustStatus(t, api(t, s, "PUT", web1, `{"autoreboot_on":false}`), 200, "autoreboot off")
	mustStatus(t, api(t, s, "POST", web1+"/signal", `{"signal":"powerdown"}`), 200, "powerdown")
	if v := getVM(t, s, web1); !v.PowerOn {
		t.Fatalf("off before the delay")
	}
	c.advance(10 * time.Second)
	if v := getVM(t, s, web1); v.PowerOn {
		t.Fatalf("still on after the delay")
	}

	s.SetPowerdownDelay(0)
	s.HangOnPowerdown("acme", "default", "web2", true)
	mustStatus(t, api(t, s, "PUT", acmeVMs+"/web2", `{"autoreboot_on":false}`), 200, "autoreboot off")
	mustStatus(t, api(t, s, "POST", acmeVMs+"/web2/signal", `{"signal":"powerdown"}`), 200, "powerdown")
	if v := getVM(t, s, acmeVMs+"/web2"); !v.PowerOn {
		t.Fatalf("a hung server powered off")
	}
	mustStatus(t, api(t, s, "PUT", acmeVMs+"/web2", `{"power_on":false}`), 200, "pull the plug")
	if v := getVM(t, s, acmeVMs+"/web2"); v.PowerOn {
		t.Fatalf("pulling the plug did not power off a hung server")
	}

	if !s.SetPower("acme", "default", "web2", true) || s.SetPower("acme", "default", "nope", true) {
		t.Errorf("SetPower results wrong")
	}
	if v := getVM(t, s, acmeVMs+"/web2"); !v.PowerOn {
		t.Errorf("SetPower(true) not visible over the API")
	}
}

func TestUpdateVMValidation(t *testing.T) {
	tests := []struct {
		body     string
		want     int
		wantAttr string // a key of the 400 body
		check    func(t *testing.T, v vmJSON)
	}{
		{`{"memory":4096}`, 200, "", func(t *testing.T, v vmJSON) {
			if v.Memory != 4096 {
				t.Errorf("memory = %d", v.Memory)
			}
		}},
		{`{"cores":4,"frobnicate":true,"id":1,"hostname":"x"}`, 200, "", func(t *testing.T, v vmJSON) {
			if v.Cores != 4 || v.Hostname != "web1.default.acme.uk0.bigv.io" {
				t.Errorf("cores %d hostname %s", v.Cores, v.Hostname)
			}
		}},
		{`{"cores":"8"}`, 200, "", nil},
		{`{}`, 200, "", nil},
		{`{"memory":"lots"}`, 400, "memory", nil},
		{`{"memory":1000}`, 400, "memory", nil},
		{`{"cores":0}`, 400, "cores", nil},
		{`{"cores":1.5}`, 400, "cores", nil},
		{`{"hardware_profile":"virtio2018","hardware_profile_locked":true}`, 200, "", func(t *testing.T, v vmJSON) {
			if v.HardwareProfile != "virtio2018" {
				t.Errorf("hardware_profile = %s", v.HardwareProfile)
			}
		}},
		{`{"hardware_profile":"pentium"}`, 400, "hardware_profile", nil},
		{`{"power_on":"yes"}`, 400, "power_on", nil},
		{`{"name":""}`, 400, "name", nil},
		{`{"name":"Web 1"}`, 400, "name", nil},
		{`{"name":"ab"}`, 400, "name", nil},
		{`{"name":"web2"}`, 400, "name", nil},
		{`{"name":"web9"}`, 200, "", func(t *testing.T, v vmJSON) {
			if v.Hostname != "web9.default.acme.uk0.bigv.io" {
				t.Errorf("hostname after rename = %s", v.Hostname)
			}
		}},
		{`{"deleted":true}`, 400, "deleted", nil},
		{`{"keymap":"en-gb"}`, 200, "", func(t *testing.T, v vmJSON) {
			if v.Keymap == nil || *v.Keymap != "en-gb" {
				t.Errorf("keymap = %v", v.Keymap)
			}
		}},
		{`{"keymap":"klingon"}`, 400, "keymap", nil},
		{`{"cdrom_url":"https://example.com/rescue.iso"}`, 200, "", func(t *testing.T, v vmJSON) {
			if v.CdromURL == nil || *v.CdromURL != "https://example.com/rescue.iso" {
				t.Errorf("cdrom_url = %v", v.CdromURL)
			}
		}},
		{`{"cdrom_url":"not a url"}`, 500, "", nil},
		{`{"group_id":12}`, 400, "group_id", nil},    // web1 is running
		{`{"group_id":99999}`, 400, "group_id", nil}, // no such group
		{`{"memory":1000,"cores":0}`, 400, "cores", nil},
		{`[1,2]`, 400, "", nil},
		{`{"memory":`, 400, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			s := newFake(t)
			before := api(t, s, "GET", web1+"?view=overview", "").body
			r := api(t, s, "PUT", web1, tt.body)
			if r.status != tt.want {
				t.Fatalf("status %d body %q; want %d", r.status, r.body, tt.want)
			}
			if tt.want == 400 {
				p := r.problems(t)
				if tt.wantAttr != "" {
					msgs, ok := p[tt.wantAttr].([]any)
					if !ok || len(msgs) == 0 {
						t.Errorf("400 body %s; want {%q: [messages]}", r.body, tt.wantAttr)
					}
				}
				if after := api(t, s, "GET", web1+"?view=overview", "").body; after != before {
					t.Errorf("a refused PUT changed the server:\n%s\n%s", before, after)
				}
				return
			}
			if tt.want == 200 {
				var v vmJSON
				r.decode(t, &v)
				if v.Type != "application/vnd.bigv.virtual-machine" {
					t.Errorf("PUT answer = %s; want the server", r.body)
				}
				if tt.check != nil {
					path := acmeVMs + "/" + v.Name
					tt.check(t, getVM(t, s, path))
				}
			}
		})
	}
	t.Run("memory problems in the real shape", func(t *testing.T) {
		s := newFake(t)
		r := api(t, s, "PUT", web1, `{"memory":"x"}`)
		if r.body != `{"memory":["is not a number"]}` {
			t.Errorf("body = %s", r.body)
		}
	})
}

func TestMoveGroup(t *testing.T) {
	s := newFake(t)
	def := getVM(t, s, web1).GroupID
	partner := getVM(t, s, "/accounts/partner/groups/default/virtual_machines/app1").GroupID

	r := api(t, s, "PUT", "/accounts/acme/groups/staging/virtual_machines/stage1", fmt.Sprintf(`{"group_id":%d}`, partner))
	mustStatus(t, r, 403, "move into a read-only account")
	r = api(t, s, "PUT", "/accounts/acme/groups/staging/virtual_machines/stage1", fmt.Sprintf(`{"name":"web1","group_id":%d}`, def))
	mustStatus(t, r, 400, "move onto a taken name")
	r = api(t, s, "PUT", "/accounts/acme/groups/staging/virtual_machines/stage1", fmt.Sprintf(`{"name":"stage2","group_id":%d}`, def))
	mustStatus(t, r, 200, "move and rename")
	v := getVM(t, s, acmeVMs+"/stage2")
	if v.GroupID != def || v.Hostname != "stage2.default.acme.uk0.bigv.io" {
		t.Errorf("moved server = %+v", v)
	}
	mustStatus(t, api(t, s, "GET", "/accounts/acme/groups/staging/virtual_machines/stage1", ""), 404, "old place")
}

func TestDeleteUndeletePurge(t *testing.T) {
	s := newFake(t)
	mustStatus(t, api(t, s, "DELETE", web1, ""), 204, "soft delete")
	v := getVM(t, s, web1)
	if !v.Deleted || v.PowerOn {
		t.Fatalf("after delete = %+v; want deleted and off", v)
	}
	mustStatus(t, api(t, s, "GET", web1, ""), 404, "GET a deleted server without include_deleted")
	r := api(t, s, "GET", acmeVMs, "")
	if strings.Contains(r.body, `"web1"`) {
		t.Errorf("deleted server listed without include_deleted")
	}
	mustStatus(t, api(t, s, "PUT", web1, `{"power_on":true}`), 400, "start a deleted server")
	mustStatus(t, api(t, s, "POST", web1+"/signal", `{"signal":"reset"}`), 400, "signal a deleted server")
	mustStatus(t, api(t, s, "POST", web1+"/discs", `{"label":"data","size":10240}`), 400, "add a disc to a deleted server")
	mustStatus(t, api(t, s, "PUT", web1+"/discs/root", `{"size":51200}`), 400, "resize a disc of a deleted server")
	mustStatus(t, api(t, s, "DELETE", web1+"/discs/root?purge=true", ""), 400, "purge a disc of a deleted server")

	mustStatus(t, api(t, s, "PUT", web1, `{"deleted":false}`), 200, "undelete")
	v = getVM(t, s, web1)
	if v.Deleted || v.PowerOn || len(v.Discs) != 1 {
		t.Fatalf("after undelete = %+v; want not deleted, off, with its disc", v)
	}
	mustStatus(t, api(t, s, "PUT", web1, `{"power_on":true}`), 200, "start after undelete")

	mustStatus(t, api(t, s, "DELETE", web1+"?purge=true", ""), 204, "purge")
	mustStatus(t, api(t, s, "GET", web1+"?include_deleted=true", ""), 404, "GET a purged server")
	if _, ok := s.Server("acme", "default", "web1"); ok {
		t.Errorf("purged server still in Server()")
	}
	// The name is free again.
	r = api(t, s, "POST", acmeVMs, `{"name":"web1","cores":1,"memory":1024}`)
	mustStatus(t, r, 202, "create a server with the purged name")

	// An already deleted server can be purged.
	mustStatus(t, api(t, s, "DELETE", acmeVMs+"/old1?purge=true", ""), 204, "purge old1")
	if _, ok := s.Server("acme", "default", "old1"); ok {
		t.Errorf("old1 still there")
	}
	mustStatus(t, api(t, s, "DELETE", acmeVMs+"/old1?purge=true", ""), 404, "purge twice")
}

func TestDiscs(t *testing.T) {
	t.Run("labels", func(t *testing.T) {
		tests := []struct {
			body string
			want int
			attr string
		}{
			{`{"label":"data","size":20480,"storage_grade":"sata"}`, 201, ""},
			{`{"label":"backups","size":10240,"storage_grade":"archive"}`, 201, ""},
			{`{"label":"fast","size":10240,"storage_grade":"ssd"}`, 201, ""},
			{`{"label":"disc-2","size":10240}`, 201, ""},
			{`{"label":"under_score","size":10240}`, 201, ""},
			{`{"label":"vda","size":10240}`, 400, "label"},
			{`{"label":"vdb","size":10240}`, 400, "label"},
			{`{"label":"sda","size":10240}`, 400, "label"},
			{`{"label":"hdc","size":10240}`, 400, "label"},
			{`{"label":"xvda","size":10240}`, 400, "label"},
			{`{"label":"vdaa","size":10240}`, 400, "label"},
			{`{"label":"root","size":10240}`, 400, "label"}, // taken
			{`{"label":"","size":10240}`, 400, "label"},
			{`{"size":10240}`, 400, "label"},
			{`{"label":"Data!","size":10240}`, 400, "label"},
			{`{"label":"data"}`, 400, "size"},
			{`{"label":"data","size":"big"}`, 400, "size"},
			{`{"label":"data","size":10}`, 400, "size"},
			{`{"label":"data","size":3000000}`, 400, "size"},
			{`{"label":"data","size":10240,"storage_grade":"gold"}`, 400, "storage_grade"},
		}
		s := newFake(t)
		for _, tt := range tests {
			t.Run(tt.body, func(t *testing.T) {
				r := api(t, s, "POST", web1+"/discs", tt.body)
				if r.status != tt.want {
					t.Fatalf("status %d body %q; want %d", r.status, r.body, tt.want)
				}
				if tt.want == 201 {
					var d discJSON
					r.decode(t, &d)
					if d.ID == 0 || d.StoragePool == "" || d.Type != "application/vnd.bigv.disc" || d.VirtualMachineID == 0 {
						t.Errorf("created disc = %s", r.body)
					}
					mustStatus(t, api(t, s, "DELETE", web1+"/discs/"+d.Label+"?purge=true", ""), 204, "purge it again")
					return
				}
				if _, ok := r.problems(t)[tt.attr].([]any); !ok {
					t.Errorf("400 body %s; want key %q", r.body, tt.attr)
				}
			})
		}
	})

	t.Run("pools", func(t *testing.T) {
		s := newFake(t)
		r := api(t, s, "POST", web1+"/discs", `{"label":"backups","size":10240,"storage_grade":"archive"}`)
		var d discJSON
		r.decode(t, &d)
		if d.StoragePool != "t1-archive1" || d.Size != 10240 {
			t.Errorf("archive disc = %s", r.body)
		}
		r = api(t, s, "POST", web1+"/discs", `{"label":"data","size":10240}`)
		r.decode(t, &d)
		if d.StoragePool != "tail1-sata1" || d.StorageGrade != "sata" {
			t.Errorf("default disc = %s", r.body)
		}
	})

	t.Run("at most 8", func(t *testing.T) {
		s := newFake(t)
		for i := 2; i <= 8; i++ {
			mustStatus(t, api(t, s, "POST", web1+"/discs", fmt.Sprintf(`{"label":"disc-%d","size":1024}`, i)), 201, "disc "+strconv.Itoa(i))
		}
		r := api(t, s, "POST", web1+"/discs", `{"label":"disc-9","size":1024}`)
		mustStatus(t, r, 400, "ninth disc")
		if len(r.problems(t)) == 0 {
			t.Errorf("400 body = %s", r.body)
		}
		if v := getVM(t, s, web1); len(v.Discs) != 8 {
			t.Errorf("discs = %d", len(v.Discs))
		}
	})

	t.Run("resize, relabel, purge", func(t *testing.T) {
		s := newFake(t)
		r := api(t, s, "PUT", db1+"/discs/data", `{"size":204800}`)
		mustStatus(t, r, 200, "grow")
		var d discJSON
		r.decode(t, &d)
		if d.Size != 204800 || d.Label != "data" {
			t.Errorf("grown disc = %s", r.body)
		}
		mustStatus(t, api(t, s, "PUT", db1+"/discs/data", `{"size":1024}`), 400, "shrink")
		mustStatus(t, api(t, s, "PUT", db1+"/discs/data", `{"size":"x"}`), 400, "bad size")
		mustStatus(t, api(t, s, "PUT", db1+"/discs/data", `{"label":"vdc"}`), 400, "relabel to a device name")
		mustStatus(t, api(t, s, "PUT", db1+"/discs/data", `{"label":"root"}`), 400, "relabel to a taken label")
		mustStatus(t, api(t, s, "PUT", db1+"/discs/data", `{"label":"pgdata"}`), 200, "relabel")
		mustStatus(t, api(t, s, "GET", db1+"/discs/pgdata", ""), 200, "by new label")
		mustStatus(t, api(t, s, "GET", db1+"/discs/data", ""), 404, "by old label")
		mustStatus(t, api(t, s, "PUT", acmeVMs+"/old1/discs/vda", `{"size":30720}`), 400, "deleted server's disc")

		mustStatus(t, api(t, s, "DELETE", db1+"/discs/pgdata", ""), 500, "delete without purge")
		mustStatus(t, api(t, s, "DELETE", db1+"/discs/pgdata?purge=false", ""), 500, "purge=false")
		mustStatus(t, api(t, s, "DELETE", db1+"/discs/pgdata?purge=true", ""), 204, "purge")
		mustStatus(t, api(t, s, "GET", db1+"/discs/pgdata", ""), 404, "purged disc")

		backups := getVM(t, s, db1).Discs[1]
		mustStatus(t, api(t, s, "DELETE", "/discs/"+strconv.Itoa(backups.ID), ""), 500, "non-nested delete without purge")
		mustStatus(t, api(t, s, "DELETE", "/discs/"+strconv.Itoa(backups.ID)+"?purge=true", ""), 204, "non-nested purge")
		if srv, _ := s.Server("acme", "default", "db1"); len(srv.Discs) != 1 {
			t.Errorf("db1 discs = %+v", srv.Discs)
		}
	})

	t.Run("move", func(t *testing.T) {
		s := newFake(t)
		stage1 := getVM(t, s, "/accounts/acme/groups/staging/virtual_machines/stage1")
		body := fmt.Sprintf(`{"virtual_machine_id":%d}`, stage1.ID)
		mustStatus(t, api(t, s, "PUT", db1+"/discs/data", body), 400, "move from a running server")
		s.SetPower("acme", "default", "db1", false)
		mustStatus(t, api(t, s, "PUT", db1+"/discs/root", body), 400, "move the root disc")
		mustStatus(t, api(t, s, "PUT", db1+"/discs/data", body), 200, "move")
		if v := getVM(t, s, "/accounts/acme/groups/staging/virtual_machines/stage1"); len(v.Discs) != 2 || v.Discs[1].Label != "data" || v.Discs[1].VirtualMachineID != stage1.ID {
			t.Errorf("stage1 discs = %+v", v.Discs)
		}
	})
}

func TestAccessRules(t *testing.T) {
	s := newFake(t)
	const app1 = "/accounts/partner/groups/default/virtual_machines/app1"
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"GET", app1, "", 200},
		{"GET", app1 + "/discs/root", "", 200},
		{"PUT", app1, `{"power_on":false}`, 403},
		{"PUT", app1, `{"memory":"junk"}`, 403},
		{"DELETE", app1, "", 403},
		{"DELETE", app1 + "?purge=true", "", 403},
		{"POST", app1 + "/signal", `{"signal":"reset"}`, 403},
		{"POST", app1 + "/discs", `{"label":"data","size":10240}`, 403},
		{"PUT", app1 + "/discs/root", `{"size":51200}`, 403},
		{"DELETE", app1 + "/discs/root?purge=true", "", 403},
		{"POST", "/accounts/partner/groups", `{"name":"mine"}`, 403},
		{"PUT", "/accounts/partner/groups/default", `{"name":"mine"}`, 403},
		{"DELETE", "/accounts/partner/groups/default", "", 403},
		{"POST", "/accounts/partner/groups/default/virtual_machines", `{"name":"app2"}`, 403},
		{"POST", "/accounts/partner/groups/default/vm_create", `{"virtual_machine":{"name":"app2"}}`, 403},
		{"PUT", "/accounts/partner/groups/default/virtual_machines/nope", `{"power_on":false}`, 404},
		{"PUT", app1 + "/discs/nope", `{"size":51200}`, 404},
		{"PUT", "/accounts/partner", `{}`, 403},
		// Hidden: 404 whatever the method.
		{"GET", "/accounts/hidden/groups/default/virtual_machines/secret1", "", 404},
		{"PUT", "/accounts/hidden/groups/default/virtual_machines/secret1", `{"power_on":false}`, 404},
		{"DELETE", "/accounts/hidden/groups/default/virtual_machines/secret1?purge=true", "", 404},
		{"POST", "/accounts/hidden/groups/default/virtual_machines/secret1/signal", `{"signal":"reset"}`, 404},
		{"POST", "/accounts/hidden/groups", `{"name":"x"}`, 404},
		{"GET", "/accounts/hidden/groups", "", 404},
		// Non-nested writes are not offered (except disc purge).
		{"PUT", "/virtual_machines/1001", `{}`, 405},
		{"POST", "/discs", `{}`, 405},
		{"PATCH", web1, `{}`, 405},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := api(t, s, tt.method, tt.path, tt.body)
			if r.status != tt.want {
				t.Errorf("status %d body %q; want %d", r.status, r.body, tt.want)
			}
		})
	}
	if srv, _ := s.Server("partner", "default", "app1"); !srv.PowerOn || srv.Deleted || len(srv.Discs) != 1 {
		t.Errorf("app1 changed: %+v", srv)
	}
	if srv, ok := s.Server("hidden", "default", "secret1"); !ok || !srv.PowerOn {
		t.Errorf("secret1 changed: %+v", srv)
	}
	partnerDisc := getVM(t, s, app1).Discs[0].ID
	mustStatus(t, api(t, s, "DELETE", "/discs/"+strconv.Itoa(partnerDisc)+"?purge=true", ""), 403, "non-nested purge in a read-only account")

	// Changing access at run time.
	s.SetAccess("partner", 2)
	mustStatus(t, api(t, s, "PUT", app1, `{"cores":2}`), 200, "after SetAccess(full)")
	s.SetAccess("acme", 0)
	mustStatus(t, api(t, s, "GET", web1, ""), 404, "after SetAccess(none)")
}

func TestContentType(t *testing.T) {
	s := newFake(t)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		r := sendCT(t, s, apiKeyAuth, ct, "PUT", web1, `{"power_on":false}`)
		mustStatus(t, r, http.StatusUnsupportedMediaType, "PUT with Content-Type "+ct)
		r = sendCT(t, s, apiKeyAuth, ct, "POST", web1+"/signal", `{"signal":"reset"}`)
		mustStatus(t, r, http.StatusUnsupportedMediaType, "POST with Content-Type "+ct)
	}
	mustStatus(t, sendCT(t, s, apiKeyAuth, "application/json; charset=utf-8", "PUT", web1, `{"cores":2}`), 200, "JSON with charset")
	mustStatus(t, sendCT(t, s, apiKeyAuth, "", "GET", web1, ""), 200, "GET needs no Content-Type")
	mustStatus(t, sendCT(t, s, apiKeyAuth, "", "DELETE", web1, ""), 204, "DELETE needs no Content-Type")
	if srv, _ := s.Server("acme", "default", "web1"); srv.Cores != 2 {
		t.Errorf("cores = %d", srv.Cores)
	}
}

func TestGroups(t *testing.T) {
	s := newFake(t)
	r := api(t, s, "POST", "/accounts/acme/groups", `{"name":"newgrp"}`)
	mustStatus(t, r, 201, "create group")
	var g groupJSON
	r.decode(t, &g)
	if g.Name != "newgrp" || g.AccountID != 1 || g.ID == 0 || g.Type != "application/vnd.bigv.group" {
		t.Errorf("group = %s", r.body)
	}
	mustStatus(t, api(t, s, "POST", "/accounts/acme/groups", `{"name":"newgrp"}`), 400, "duplicate group")
	mustStatus(t, api(t, s, "POST", "/accounts/acme/groups", `{"name":"Bad Name"}`), 400, "bad name")
	mustStatus(t, api(t, s, "GET", "/groups/"+strconv.Itoa(g.ID), ""), 200, "non-nested GET")
	mustStatus(t, api(t, s, "PUT", "/accounts/acme/groups/newgrp", `{"name":"renamed"}`), 200, "rename")
	mustStatus(t, api(t, s, "PUT", "/accounts/acme/groups/renamed", `{"name":"staging"}`), 400, "rename onto a taken name")
	mustStatus(t, api(t, s, "GET", "/accounts/acme/groups/"+strconv.Itoa(g.ID), ""), 200, "by id after rename")

	r = api(t, s, "DELETE", "/accounts/acme/groups/staging", "")
	mustStatus(t, r, 400, "delete a group with servers")
	if r.body == "" {
		t.Errorf("no reason given")
	}
	mustStatus(t, api(t, s, "DELETE", "/accounts/acme/groups/staging/virtual_machines/stage1", ""), 204, "soft delete stage1")
	mustStatus(t, api(t, s, "DELETE", "/accounts/acme/groups/staging", ""), 400, "delete a group with a deleted server")
	mustStatus(t, api(t, s, "DELETE", "/accounts/acme/groups/staging/virtual_machines/stage1?purge=true", ""), 204, "purge stage1")
	mustStatus(t, api(t, s, "DELETE", "/accounts/acme/groups/staging", ""), 204, "delete the empty group")
	mustStatus(t, api(t, s, "GET", "/accounts/acme/groups/staging", ""), 404, "deleted group")
	mustStatus(t, api(t, s, "DELETE", "/accounts/acme/groups/renamed", ""), 204, "delete the new group")
}

func TestCreateServer(t *testing.T) {
	s := newFake(t)
	// Exactly what `bytemark add server --force ... new1` POSTs.
	body := `{"virtual_machine":{"autoreboot_on":true,"cores":2,"memory":2048,"name":"new1"},
 "discs":[{"label":"disc-1","storage_grade":"archive","size":51200,
           "backup_schedules":[{"start_at":"2026-11-23 00:00:00 UTC","interval_seconds":604800,"capacity":1}]},
          {"label":"disc-2","storage_grade":"ssd","size":10240}],
 "reimage":{"distribution":"bookworm","firstboot_script":"","root_password":"s3cret","ssh_public_key":""}}`
	r := api(t, s, "POST", "/accounts/acme/groups/default/vm_create", body)
	mustStatus(t, r, 202, "vm_create")
	var v vmJSON
	r.decode(t, &v)
	if v.Name != "new1" || v.Cores != 2 || v.Memory != 2048 || v.ID == 0 {
		t.Errorf("vm_create answer = %s", r.body)
	}
	v = getVM(t, s, acmeVMs+"/new1")
	if !v.PowerOn || len(v.Discs) != 2 || v.Discs[0].StorageGrade != "archive" || len(v.NetworkInterfaces) != 1 || v.Hostname != "new1.default.acme.uk0.bigv.io" {
		t.Errorf("new1 = %+v", v)
	}
	mustStatus(t, api(t, s, "POST", "/accounts/acme/groups/default/vm_create", body), 400, "vm_create with a taken name")

	r = api(t, s, "POST", "/accounts/acme/groups/default/vm_create",
		`{"virtual_machine":{"name":"new2"},"discs":[{"label":"a","size":10240},{"label":"b","size":10}]}`)
	mustStatus(t, r, 400, "bad disc")
	discs, ok := r.problems(t)["discs"].([]any)
	if !ok || len(discs) != 2 || len(discs[0].(map[string]any)) != 0 || discs[1].(map[string]any)["size"] == nil {
		t.Errorf("400 body = %s; want one hash per disc", r.body)
	}
	r = api(t, s, "POST", "/accounts/acme/groups/default/vm_create",
		`{"virtual_machine":{"name":"new2"},"discs":[{"size":10240}],"reimage":{"distribution":"windows95"}}`)
	mustStatus(t, r, 400, "bad distribution")
	if _, ok := s.Server("acme", "default", "new2"); ok {
		t.Errorf("a refused vm_create created the server")
	}

	// A bare server: no discs, off.
	r = api(t, s, "POST", acmeVMs, `{"name":"bare1","cores":1,"memory":1024}`)
	mustStatus(t, r, 202, "POST virtual_machines")
	v = getVM(t, s, acmeVMs+"/bare1")
	if v.PowerOn || len(v.Discs) != 0 {
		t.Errorf("bare1 = %+v", v)
	}
	mustStatus(t, api(t, s, "POST", acmeVMs, `{"cores":1}`), 400, "no name")

	// Reimage needs the server off, then leaves it on with autoreboot off.
	reimage := `{"distribution":"noble","firstboot_script":"","root_password":"pw","ssh_public_key":""}`
	mustStatus(t, api(t, s, "POST", web1+"/reimage", reimage), 400, "reimage a running server")
	s.SetPower("acme", "default", "web1", false)
	mustStatus(t, api(t, s, "POST", web1+"/reimage", `{"distribution":"nope"}`), 400, "reimage with an unknown image")
	mustStatus(t, api(t, s, "POST", web1+"/reimage", reimage), 200, "reimage")
	if srv, _ := s.Server("acme", "default", "web1"); !srv.PowerOn || srv.AutorebootOn || srv.LastImagedWith != "noble" {
		t.Errorf("after reimage = %+v", srv)
	}
}
