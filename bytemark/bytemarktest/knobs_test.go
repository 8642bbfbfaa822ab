package bytemarktest_test

import (
	"fmt"
	"testing"
	"time"
)

func TestBuildDelay(t *testing.T) {
	s := newFake(t)
	c := &clock{now: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	s.SetNow(c.Now)
	s.SetBuildDelay(30 * time.Second)

	r := api(t, s, "POST", "/accounts/acme/groups/default/vm_create",
		`{"virtual_machine":{"autoreboot_on":true,"name":"new1"},"discs":[{"label":"disc-1","size":25600}],
		 "reimage":{"distribution":"noble","root_password":"pw-1234567","ssh_public_key":"","firstboot_script":""}}`)
	mustStatus(t, r, 202, "vm_create")
	if v := getVM(t, s, acmeVMs+"/new1"); v.PowerOn || !v.AutorebootOn {
		t.Errorf("while building new1 = %+v; want off, autoreboot on", v)
	}
	c.advance(29 * time.Second)
	if v := getVM(t, s, acmeVMs+"/new1"); v.PowerOn {
		t.Error("new1 started before its build ended")
	}
	c.advance(time.Second)
	if v := getVM(t, s, acmeVMs+"/new1"); !v.PowerOn {
		t.Error("new1 did not start when its build ended")
	}

	// Reimage: off while imaging, then on with autoreboot off.
	mustStatus(t, api(t, s, "POST", stage1+"/reimage", `{"distribution":"noble","root_password":"pw-1234567"}`), 200, "reimage")
	if v, _ := s.Server("acme", "staging", "stage1"); v.PowerOn {
		t.Error("stage1 is on while imaging")
	}
	c.advance(30 * time.Second)
	if v, _ := s.Server("acme", "staging", "stage1"); !v.PowerOn || v.AutorebootOn {
		t.Errorf("after imaging stage1 = %+v; want on, autoreboot off", v)
	}

	// A stopped create never starts; a purge during the build ends it.
	mustStatus(t, api(t, s, "POST", "/accounts/acme/groups/default/vm_create",
		`{"virtual_machine":{"name":"new2"},"discs":[{"label":"disc-1","size":25600}]}`), 202, "vm_create stopped")
	mustStatus(t, api(t, s, "POST", "/accounts/acme/groups/default/vm_create",
		`{"virtual_machine":{"autoreboot_on":true,"name":"new3"},"discs":[{"label":"disc-1","size":25600}]}`), 202, "vm_create new3")
	mustStatus(t, api(t, s, "DELETE", acmeVMs+"/new3?purge=true", ""), 204, "purge new3")
	c.advance(time.Minute)
	if v := getVM(t, s, acmeVMs+"/new2"); v.PowerOn {
		t.Error("a server created stopped started")
	}
}

func TestRefuseChangesWhileRunning(t *testing.T) {
	s := newFake(t)
	mustStatus(t, api(t, s, "PUT", web1, `{"cores":2}`), 200, "cores on a running server, by default")
	s.RefuseChangesWhileRunning(true)
	for _, body := range []string{`{"cores":4}`, `{"memory":4096}`, `{"hardware_profile":"virtio2018"}`} {
		before, _ := s.Server("acme", "default", "web1")
		r := api(t, s, "PUT", web1, body)
		mustStatus(t, r, 400, body+" on a running server")
		if len(r.problems(t)) != 1 {
			t.Errorf("400 body %s; want one attribute", r.body)
		}
		if after, _ := s.Server("acme", "default", "web1"); fmt.Sprintf("%+v", after) != fmt.Sprintf("%+v", before) {
			t.Errorf("the refusal changed web1: %+v", after)
		}
	}
	mustStatus(t, api(t, s, "PUT", web1, `{"name":"web9"}`), 200, "a rename on a running server")
	mustStatus(t, api(t, s, "PUT", stage1, `{"cores":4,"memory":4096}`), 200, "a resize of a server that is off")
}

func TestGroupVLAN(t *testing.T) {
	s := newFake(t)
	staging := getVM(t, s, stage1).GroupID
	s.SetPower("acme", "default", "web1", false)
	if !s.SetGroupVLAN("acme", "staging", 7) || s.SetGroupVLAN("acme", "nosuch", 7) {
		t.Fatal("SetGroupVLAN reports the wrong groups")
	}
	r := api(t, s, "PUT", web1, fmt.Sprintf(`{"group_id":%d}`, staging))
	mustStatus(t, r, 400, "a move to another VLAN")
	if _, ok := r.problems(t)["group_id"]; !ok {
		t.Errorf("400 body %s; want group_id", r.body)
	}
	s.SetGroupVLAN("acme", "default", 7)
	mustStatus(t, api(t, s, "PUT", web1, fmt.Sprintf(`{"group_id":%d}`, staging)), 200, "a move on the same VLAN")
}
