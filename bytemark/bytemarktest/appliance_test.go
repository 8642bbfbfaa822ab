package bytemarktest_test

import (
	"fmt"
	"net/http"
	"testing"
)

const stage1 = "/accounts/acme/groups/staging/virtual_machines/stage1"

func TestAppliance(t *testing.T) {
	rescue := `{"autoreboot_on":true,"power_on":true,"appliance":{"name":"rescue","permanent":false}}`
	tests := []struct {
		name, path, body string
		want             int
		wantAppliance    string // on stage1 afterwards
	}{
		{"rescue from off", stage1, rescue, 200, "rescue"},
		{"running server", web1, rescue, 400, ""},
		{"without power_on", stage1, `{"appliance":{"name":"rescue","permanent":false}}`, 400, ""},
		{"with power_on false", stage1, `{"power_on":false,"appliance":{"name":"rescue"}}`, 400, ""},
		{"unknown appliance", stage1, `{"power_on":true,"appliance":{"name":"windows95","permanent":false}}`, 400, ""},
		{"not an object", stage1, `{"power_on":true,"appliance":"rescue"}`, 400, ""},
		{"permanent not a boolean", stage1, `{"power_on":true,"appliance":{"name":"rescue","permanent":"no"}}`, 400, ""},
		{"null appliance is a plain start", stage1, `{"power_on":true,"appliance":null}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			before := api(t, s, "GET", tt.path+"?view=overview", "").body
			r := api(t, s, "PUT", tt.path, tt.body)
			mustStatus(t, r, tt.want, "PUT "+tt.body)
			if tt.want == 400 {
				if msgs, ok := r.problems(t)["appliance"].([]any); !ok || len(msgs) == 0 {
					t.Errorf("400 body %s; want {\"appliance\": [messages]}", r.body)
				}
				if after := api(t, s, "GET", tt.path+"?view=overview", "").body; after != before {
					t.Errorf("a refused PUT changed the server:\n%s\n%s", before, after)
				}
			}
			if app, _ := s.Appliance("acme", "staging", "stage1"); app != tt.wantAppliance {
				t.Errorf("stage1 runs %q; want %q", app, tt.wantAppliance)
			}
		})
	}

	t.Run("once, then the server's own system", func(t *testing.T) {
		s := newFake(t)
		mustStatus(t, api(t, s, "PUT", stage1, rescue), 200, "start in rescue")
		// autoreboot is on: a powerdown brings it straight back, afresh.
		mustStatus(t, api(t, s, "POST", stage1+"/signal", `{"signal":"powerdown"}`), 200, "powerdown")
		if app, _ := s.Appliance("acme", "staging", "stage1"); app != "" {
			t.Errorf("after a reboot stage1 runs %q; want its own system", app)
		}
		mustStatus(t, api(t, s, "PUT", stage1, `{"autoreboot_on":false,"power_on":false}`), 200, "stop")
		if app, ok := s.Appliance("acme", "staging", "stage1"); app != "" || !ok {
			t.Errorf("a stopped stage1 runs %q (exists %v)", app, ok)
		}
	})

	t.Run("permanent", func(t *testing.T) {
		s := newFake(t)
		mustStatus(t, api(t, s, "PUT", stage1, `{"power_on":true,"autoreboot_on":true,"appliance":{"name":"rescue","permanent":true}}`), 200, "start in rescue for good")
		mustStatus(t, api(t, s, "PUT", stage1, `{"autoreboot_on":false,"power_on":false}`), 200, "stop")
		mustStatus(t, api(t, s, "PUT", stage1, `{"autoreboot_on":true,"power_on":true}`), 200, "start")
		if app, _ := s.Appliance("acme", "staging", "stage1"); app != "rescue" {
			t.Errorf("stage1 runs %q; want rescue again", app)
		}
	})

	if _, ok := newFake(t).Appliance("acme", "default", "nosuch"); ok {
		t.Error("Appliance of a missing server reports it exists")
	}
}

// TestRefusalsChangeNothing checks the refusals issue 16 names: each is
// the API's 400 (or 404) shape, and the fake's state is as before.
func TestRefusalsChangeNothing(t *testing.T) {
	const create = "/accounts/acme/groups/default/vm_create"
	tests := []struct {
		name, method, path, body string
		want                     int
		attr                     string // a key of the 400 body
	}{
		{"rename onto a taken name", "PUT", web1, `{"name":"web2"}`, 400, "name"},
		{"rename onto a deleted server's name", "PUT", web1, `{"name":"old1"}`, 400, "name"},
		{"0 cores", "PUT", web1, `{"cores":0}`, 400, "cores"},
		{"memory 0", "PUT", web1, `{"memory":0}`, 400, "memory"},
		{"move a running server", "PUT", web1, `{"group_id":12}`, 400, "group_id"},
		{"move to an unknown group", "PUT", stage1, `{"group_id":99999}`, 400, "group_id"},
		{"reimage a running server", "POST", web1 + "/reimage", `{"distribution":"noble","root_password":"Sekr1t-pw","ssh_public_key":"","firstboot_script":""}`, 400, "power_on"},
		{"reimage with an unknown image", "POST", stage1 + "/reimage", `{"distribution":"windows95","root_password":"Sekr1t-pw"}`, 400, "distribution"},
		{"reimage with a password that is not a string", "POST", stage1 + "/reimage", `{"distribution":"noble","root_password":12345}`, 400, "root_password"},
		{"create with a taken name", "POST", create, `{"virtual_machine":{"name":"web1"},"discs":[{"label":"disc-1","size":25600}]}`, 400, "name"},
		{"create with 0 cores", "POST", create, `{"virtual_machine":{"name":"new1","cores":0},"discs":[{"label":"disc-1","size":25600}]}`, 400, "cores"},
		{"create with memory 0", "POST", create, `{"virtual_machine":{"name":"new1","memory":0},"discs":[{"label":"disc-1","size":25600}]}`, 400, "memory"},
		{"create with an unknown image", "POST", create, `{"virtual_machine":{"name":"new1"},"discs":[{"label":"disc-1","size":25600}],"reimage":{"distribution":"windows95","root_password":"Sekr1t-pw"}}`, 400, "distribution"},
		{"create in an unknown group", "POST", "/accounts/acme/groups/nosuch/vm_create", `{"virtual_machine":{"name":"new1"},"discs":[{"label":"disc-1","size":25600}]}`, 404, ""},
		{"read an unknown group", "GET", "/accounts/acme/groups/nosuch", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			before := fmt.Sprintf("%+v", s.Accounts())
			r := api(t, s, tt.method, tt.path, tt.body)
			mustStatus(t, r, tt.want, tt.method+" "+tt.path)
			if tt.want == http.StatusBadRequest {
				if msgs, ok := r.problems(t)[tt.attr].([]any); !ok || len(msgs) == 0 {
					t.Errorf("400 body %s; want {%q: [messages]}", r.body, tt.attr)
				}
			}
			if after := fmt.Sprintf("%+v", s.Accounts()); after != before {
				t.Errorf("the refusal changed the fake:\n%s\n%s", before, after)
			}
		})
	}
}
