package bytemarktest_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func names[T any](items []T, name func(T) string) []string {
	var out []string
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

func vmNames(vs []vmJSON) []string { return names(vs, func(v vmJSON) string { return v.Name }) }

func TestReads(t *testing.T) {
	s := newFake(t)
	web1VM := getVM(t, s, web1)
	db1VM := getVM(t, s, db1)
	old1 := getVM(t, s, acmeVMs+"/old1")
	partnerApp := getVM(t, s, "/accounts/partner/groups/default/virtual_machines/app1")
	hiddenID := 0
	for _, a := range s.Accounts() {
		if a.Name == "hidden" {
			hiddenID = a.Groups[0].Servers[0].ID
		}
	}
	id := strconv.Itoa

	tests := []struct {
		path  string
		want  int
		check func(t *testing.T, r reply)
	}{
		{"/accounts", 200, func(t *testing.T, r reply) {
			var as []accountJSON
			r.decode(t, &as)
			if got := names(as, func(a accountJSON) string { return a.Name }); !slices.Equal(got, []string{"acme", "partner"}) {
				t.Errorf("accounts = %v; want acme, partner (hidden is invisible)", got)
			}
			if as[0].Groups != nil {
				t.Errorf("groups embedded without view=overview")
			}
		}},
		{"/accounts?view=overview&include_deleted=true", 200, func(t *testing.T, r reply) {
			var as []accountJSON
			r.decode(t, &as)
			if len(as) != 2 || len(as[0].Groups) != 2 || as[0].Groups[0].Name != "default" || as[0].Groups[0].Type != "application/vnd.bigv.group" {
				t.Fatalf("overview = %s", r.body)
			}
			if got := vmNames(as[0].Groups[0].VirtualMachines); !slices.Equal(got, []string{"web1", "web2", "db1", "old1"}) {
				t.Errorf("default group servers = %v", got)
			}
			if vm := as[0].Groups[0].VirtualMachines[0]; len(vm.Discs) == 0 || len(vm.NetworkInterfaces) == 0 {
				t.Errorf("discs and network_interfaces not embedded: %+v", vm)
			}
		}},
		{"/accounts?view=overview", 200, func(t *testing.T, r reply) {
			var as []accountJSON
			r.decode(t, &as)
			if got := vmNames(as[0].Groups[0].VirtualMachines); !slices.Equal(got, []string{"web1", "web2", "db1"}) {
				t.Errorf("without include_deleted = %v; want old1 hidden", got)
			}
		}},
		{"/accounts/acme", 200, func(t *testing.T, r reply) {
			if r.body != `{"id":1,"name":"acme","suspended":false}` {
				t.Errorf("account = %s", r.body)
			}
		}},
		{"/accounts/1", 200, nil},
		{"/accounts/partner", 200, nil},
		{"/accounts/hidden", 404, nil},
		{"/accounts/3", 404, nil},
		{"/accounts/nope", 404, nil},
		{"/accounts/hidden/groups/default/virtual_machines/secret1", 404, nil},
		{"/accounts/acme/groups", 200, func(t *testing.T, r reply) {
			var gs []groupJSON
			r.decode(t, &gs)
			if got := names(gs, func(g groupJSON) string { return g.Name }); !slices.Equal(got, []string{"default", "staging"}) {
				t.Errorf("groups = %v", got)
			}
		}},
		{"/accounts/acme/groups/default?view=overview&include_deleted=true", 200, func(t *testing.T, r reply) {
			var g groupJSON
			r.decode(t, &g)
			if g.AccountID != 1 || len(g.VirtualMachines) != 4 {
				t.Errorf("group = %s", r.body)
			}
		}},
		{"/accounts/1/groups/" + id(web1VM.GroupID), 200, nil},
		{"/accounts/acme/groups/" + id(web1VM.GroupID) + "/virtual_machines/" + id(web1VM.ID), 200, nil},
		{"/accounts/acme/groups/staging/virtual_machines/web1", 404, nil},
		// Numeric IDs in any nested segment; the hostname is the canonical
		// name and the API's suffix, however the server was reached.
		{"/accounts/1/groups/default/virtual_machines/" + id(web1VM.ID) + "?include_deleted=true", 200, func(t *testing.T, r reply) {
			var v vmJSON
			r.decode(t, &v)
			if v.ID != web1VM.ID || v.Hostname != "web1.default.acme.uk0.bigv.io" {
				t.Errorf("server = %s", r.body)
			}
		}},
		{"/accounts/acme/groups/default/virtual_machines/" + id(web1VM.ID+4), 404, nil}, // stage1's ID, in another group
		{"/accounts/acme/groups/default/virtual_machines", 200, func(t *testing.T, r reply) {
			var vs []vmJSON
			r.decode(t, &vs)
			if got := vmNames(vs); !slices.Equal(got, []string{"web1", "web2", "db1"}) {
				t.Errorf("servers = %v", got)
			}
			if vs[0].Discs != nil || strings.Contains(r.body, `"discs"`) {
				t.Errorf("discs embedded without view=overview")
			}
		}},
		{acmeVMs + "?include_deleted=true", 200, func(t *testing.T, r reply) {
			var vs []vmJSON
			r.decode(t, &vs)
			if len(vs) != 4 {
				t.Errorf("servers = %v", vmNames(vs))
			}
		}},
		{acmeVMs + "/old1", 404, nil}, // deleted, without include_deleted
		{web1, 200, func(t *testing.T, r reply) {
			var m map[string]any
			r.decode(t, &m)
			for _, k := range []string{"cdrom_url", "keymap"} {
				if v, has := m[k]; !has || v != nil {
					t.Errorf("%s = %v; want null", k, v)
				}
			}
			if m["head"] != "head123" || m["type"] != "application/vnd.bigv.virtual-machine" {
				t.Errorf("head/type = %v/%v", m["head"], m["type"])
			}
		}},
		{acmeVMs + "/web1/discs", 200, func(t *testing.T, r reply) {
			var ds []discJSON
			r.decode(t, &ds)
			if len(ds) != 1 || ds[0].Label != "root" || ds[0].Size != 25600 || ds[0].StorageGrade != "sata" || ds[0].StoragePool == "" || ds[0].Type != "application/vnd.bigv.disc" {
				t.Errorf("discs = %s", r.body)
			}
		}},
		{acmeVMs + "/web1/discs/root", 200, nil},
		{acmeVMs + "/web1/discs/" + id(web1VM.Discs[0].ID), 200, nil},
		{acmeVMs + "/web1/discs/" + id(db1VM.Discs[0].ID), 404, nil}, // another server's disc
		{acmeVMs + "/old1/discs/vda", 200, nil},                      // legacy labels are tolerated in data
		{"/groups/" + id(web1VM.GroupID), 200, nil},
		{"/groups?account_name=acme", 200, func(t *testing.T, r reply) {
			var gs []groupJSON
			r.decode(t, &gs)
			if len(gs) != 2 {
				t.Errorf("groups = %s", r.body)
			}
		}},
		{"/virtual_machines", 200, func(t *testing.T, r reply) {
			var vs []vmJSON
			r.decode(t, &vs)
			if got := vmNames(vs); !slices.Equal(got, []string{"web1", "web2", "db1", "stage1", "app1"}) {
				t.Errorf("servers = %v", got)
			}
		}},
		{"/virtual_machines?include_deleted=true&account_id=1", 200, func(t *testing.T, r reply) {
			var vs []vmJSON
			r.decode(t, &vs)
			if got := vmNames(vs); !slices.Equal(got, []string{"web1", "web2", "db1", "old1", "stage1"}) {
				t.Errorf("servers = %v", got)
			}
		}},
		{"/virtual_machines?group_id=" + id(web1VM.GroupID), 200, func(t *testing.T, r reply) {
			var vs []vmJSON
			r.decode(t, &vs)
			if len(vs) != 3 {
				t.Errorf("servers = %v", vmNames(vs))
			}
		}},
		{"/virtual_machines?group_name=staging&account_name=acme&view=overview", 200, func(t *testing.T, r reply) {
			var vs []vmJSON
			r.decode(t, &vs)
			if len(vs) != 1 || vs[0].Name != "stage1" || vs[0].PowerOn || vs[0].Head != nil || len(vs[0].Discs) != 1 {
				t.Errorf("servers = %s", r.body)
			}
		}},
		{"/virtual_machines?account_id=x", 200, func(t *testing.T, r reply) {
			if r.body != "[]" {
				t.Errorf("bad filter = %s; want []", r.body)
			}
		}},
		{"/virtual_machines/" + id(web1VM.ID), 200, nil},
		{"/virtual_machines/" + id(old1.ID), 404, nil},
		{"/virtual_machines/" + id(old1.ID) + "?include_deleted=true", 200, nil},
		{"/virtual_machines/" + id(partnerApp.ID), 200, nil},
		{"/virtual_machines/" + id(hiddenID), 404, nil},
		{"/virtual_machines/web1", 404, nil},
		{"/discs?vm_id=" + id(db1VM.ID), 200, func(t *testing.T, r reply) {
			var ds []discJSON
			r.decode(t, &ds)
			if got := names(ds, func(d discJSON) string { return d.Label + ":" + d.StorageGrade }); !slices.Equal(got, []string{"root:sata", "data:ssd", "backups:archive"}) {
				t.Errorf("db1 discs = %v", got)
			}
		}},
		{"/discs/" + id(db1VM.Discs[2].ID), 200, func(t *testing.T, r reply) {
			var d discJSON
			r.decode(t, &d)
			if d.StoragePool != "t1-archive1" || d.VirtualMachineID != db1VM.ID {
				t.Errorf("disc = %s", r.body)
			}
		}},
		{"/discs/999999", 404, nil},
		{"/nothing", 404, nil},
		{"//accounts//acme/", 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := api(t, s, "GET", tt.path, "")
			if r.status != tt.want {
				t.Fatalf("status %d body %q; want %d", r.status, r.body, tt.want)
			}
			if tt.want == 200 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestDemoData(t *testing.T) {
	s := newFake(t)
	for _, tt := range []struct {
		path        string
		on, deleted bool
		zone        string
		discs       int
		hostname    string
	}{
		{web1, true, false, "york", 1, "web1.default.acme.uk0.bigv.io"},
		{acmeVMs + "/web2", true, false, "york", 1, "web2.default.acme.uk0.bigv.io"},
		{db1, true, false, "york", 3, "db1.default.acme.uk0.bigv.io"},
		{acmeVMs + "/old1", false, true, "york", 2, "old1.default.acme.uk0.bigv.io"},
		{"/accounts/acme/groups/staging/virtual_machines/stage1", false, false, "manchester", 1, "stage1.staging.acme.uk0.bigv.io"},
		{"/accounts/partner/groups/default/virtual_machines/app1", true, false, "york", 1, "app1.default.partner.uk0.bigv.io"},
	} {
		v := getVM(t, s, tt.path)
		if v.PowerOn != tt.on || v.Deleted != tt.deleted || v.ZoneName != tt.zone || len(v.Discs) != tt.discs || v.Hostname != tt.hostname {
			t.Errorf("%s = %+v", tt.path, v)
		}
		if (v.Head != nil) != tt.on {
			t.Errorf("%s head = %v with power_on %v", tt.path, v.Head, v.PowerOn)
		}
		if len(v.NetworkInterfaces) != 1 || len(v.NetworkInterfaces[0].IPs) != 2 || !strings.Contains(v.NetworkInterfaces[0].IPs[1], ":") ||
			v.NetworkInterfaces[0].MAC == "" || v.NetworkInterfaces[0].ExtraIPs == nil || v.NetworkInterfaces[0].Type != "application/vnd.bigv.network-interface" {
			t.Errorf("%s NICs = %+v; want one with IPv4 and IPv6", tt.path, v.NetworkInterfaces)
		}
		if v.ManagementAddress == "" {
			t.Errorf("%s has no management_address", tt.path)
		}
	}
	srv, ok := s.Server("acme", "default", "db1")
	if !ok || len(srv.Discs) != 3 || srv.Discs[2].StorageGrade != "archive" || len(srv.NetworkInterfaces[0].IPs) != 2 || srv.Head == "" {
		t.Errorf("Server(db1) = %+v, %v", srv, ok)
	}
	if _, ok := s.Server("acme", "default", "nope"); ok {
		t.Errorf("Server(nope) found")
	}
	if srv, ok := s.Server("hidden", "default", "secret1"); !ok || srv.Hostname != "secret1.default.hidden.uk0.bigv.io" {
		t.Errorf("Server(secret1) = %+v, %v; the assert view sees hidden accounts", srv, ok)
	}
	if got := len(s.Servers("acme", "default")); got != 4 {
		t.Errorf("Servers(acme, default) = %d; want 4", got)
	}
}
