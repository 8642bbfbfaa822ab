package bytemarktest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// settle applies powerdowns whose delay has passed. s.mu is held.
func (s *Server) settle() {
	now := s.now()
	for id, at := range s.pendingPowerdowns {
		if now.Before(at) {
			continue
		}
		delete(s.pendingPowerdowns, id)
		if v := s.st.vmByID(id); v != nil && !v.autoreboot {
			v.powerOn = false
		}
	}
	for id, at := range s.st.pendingBoots {
		if now.Before(at) {
			continue
		}
		delete(s.st.pendingBoots, id)
		if v := s.st.vmByID(id); v != nil && !v.deleted {
			v.powerOn = true
			v.boot(nil)
		}
	}
}

// building holds back the start of v, which was just built or imaged,
// until the build delay has passed. s.mu is held.
func (s *Server) building(v *vm) {
	if s.st.buildDelay <= 0 || !v.powerOn {
		return
	}
	v.powerOn = false
	s.st.pendingBoots[v.id] = s.now().Add(s.st.buildDelay)
}

// checkMemory validates memory in MiB: 512, or a whole number of GiB up
// to 128 GiB.
func checkMemory(p problems, v any) (int, bool) {
	n, isInt := toInt(v)
	if !isInt {
		p.add("memory", "is not a number")
		return 0, false
	}
	if n != minMemoryMiB && (n%1024 != 0 || n < 1024 || n > maxMemoryMiB) {
		p.add("memory", "is not included in the list")
		return 0, false
	}
	return n, true
}

// checkCdrom validates a cdrom_url; "" or null ejects. A URL the Brain
// cannot use is a 500, as with the real API.
func checkCdrom(v any) (string, bool) {
	if v == nil {
		return "", true
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false
	}
	if s == "" {
		return "", true
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return s, true
}

// vmAttrs validates the writable VM attributes present in params and
// applies them to nv. It returns a non-zero resp for answers other than
// 400 (a bad cdrom_url is a 500, a move into a read-only account 403).
func (s *Server) vmAttrs(p problems, params map[string]any, nv *vm, creating bool) resp {
	if v, has := params["name"]; has || creating {
		minLen := 3
		if name, nameOK := checkName(p, v, minLen); nameOK {
			nv.name = name
		}
	}
	if v, has := params["cores"]; has {
		if n, valid := checkInt(p, "cores", v, 1, maxCores); valid {
			nv.cores = n
		}
	}
	if v, has := params["memory"]; has {
		if n, valid := checkMemory(p, v); valid {
			nv.memory = n
		}
	}
	if v, has := params["hardware_profile"]; has {
		if hp, valid := checkIn(p, "hardware_profile", v, defHardwareProfiles); valid {
			nv.hardwareProfile = hp
		}
	}
	if v, has := params["hardware_profile_locked"]; has {
		if b, valid := checkBool(p, "hardware_profile_locked", v); valid {
			nv.hwLocked = b
		}
	}
	if v, has := params["keymap"]; has {
		if v == nil || v == "" {
			nv.keymap = ""
		} else if km, valid := checkIn(p, "keymap", v, defKeymaps); valid {
			nv.keymap = km
		}
	}
	if v, has := params["autoreboot_on"]; has {
		if b, valid := checkBool(p, "autoreboot_on", v); valid {
			nv.autoreboot = b
		}
	}
	if v, has := params["power_on"]; has {
		checkBool(p, "power_on", v)
	}
	if creating {
		if v, has := params["zone_name"]; has && v != nil {
			if z, valid := checkIn(p, "zone_name", v, defZones); valid {
				nv.zone = z
			}
		}
	}
	if v, has := params["cdrom_url"]; has {
		u, valid := checkCdrom(v)
		if !valid {
			return text(http.StatusInternalServerError, "500 Internal Server Error: could not use cdrom_url")
		}
		nv.cdromURL = u
	}
	return resp{}
}

// writableVMKeys are the attributes a PUT may change; a deleted server
// refuses all of them.
var writableVMKeys = []string{"name", "cores", "memory", "hardware_profile", "hardware_profile_locked", "keymap", "autoreboot_on", "power_on", "cdrom_url", "group_id"}

// updateVM is PUT on a VM: PATCH semantics, unknown and read-only keys
// ignored, known ones validated.
func (s *Server) updateVM(c *call, v *vm) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	p := problems{}
	nv := *v
	if dv, has := params["deleted"]; has {
		b, isBool := dv.(bool)
		switch {
		case !isBool:
			p.add("deleted", "is not a boolean")
		case !b:
			nv.deleted = false
		case !v.deleted:
			p.add("deleted", "can only be set to false; use DELETE to delete a server")
		}
	}
	if nv.deleted {
		for _, k := range writableVMKeys {
			if _, has := params[k]; has {
				p.add("deleted", "the server is deleted; restore it with {\"deleted\":false} before changing it")
				break
			}
		}
		if len(p) > 0 {
			return bad(p)
		}
	}
	if r := s.vmAttrs(p, params, &nv, false); r.status != 0 {
		return r
	}
	boot := checkAppliance(p, params, v)
	if s.st.refuseLive && v.powerOn {
		for _, k := range []string{"cores", "memory", "hardware_profile"} {
			if _, has := params[k]; has {
				p.add(k, "cannot be changed while the server is powered on; power it off first")
			}
		}
	}
	// The name must be unique in the group the server ends up in.
	target := s.st.groupByID(v.groupID)
	if gv, has := params["group_id"]; has {
		id, isInt := toInt(gv)
		g := s.st.groupByID(id)
		switch {
		case !isInt:
			p.add("group_id", "is not a number")
		case g == nil || !visible(s.st.accountByID(g.accountID)):
			p.add("group_id", "is invalid")
		case g.id == v.groupID:
		case s.st.accountByID(g.accountID).access != AccessFull:
			return forbidden()
		case v.powerOn:
			p.add("group_id", "cannot be changed while the server is powered on; power it off first")
		case g.vlan != target.vlan:
			p.add("group_id", "the groups are on different private VLANs; a server can only move between groups on the same one")
		default:
			target = g
			nv.groupID = g.id
		}
	}
	if other := s.st.findVMByName(target, nv.name); other != nil && other != v {
		p.add("name", "has already been taken")
	}
	if len(p) > 0 {
		return bad(p)
	}
	if pv, has := params["power_on"]; has {
		on := pv.(bool)
		delete(s.pendingPowerdowns, v.id)
		delete(s.st.pendingBoots, v.id)
		switch {
		case on:
			if !v.powerOn {
				nv.boot(boot)
			}
			nv.powerOn = true
		case nv.autoreboot && v.powerOn:
			// autoreboot_on true with power_on false is a reboot: the
			// server powers off and comes straight back.
			nv.boot(nil)
			nv.powerOn = true
		default:
			nv.powerOn = false
		}
	}
	*v = nv
	return ok(s.st.wireVM(v, false))
}

func (st *state) findVMByName(g *group, name string) *vm {
	for _, v := range st.vms {
		if v.groupID == g.id && v.name == name {
			return v
		}
	}
	return nil
}

// deleteVM soft-deletes a VM, or purges it with ?purge=true.
func (s *Server) deleteVM(c *call, v *vm) resp {
	delete(s.pendingPowerdowns, v.id)
	delete(s.st.pendingBoots, v.id)
	if isTrue(c.query, "purge") {
		s.st.removeVM(v)
		delete(s.hangOnPowerdown, v.id)
		return noContent()
	}
	v.deleted = true
	v.powerOn = false
	return noContent()
}

// signal is POST .../signal: powerdown, reset or sendkey, on a running VM.
func (s *Server) signal(c *call, v *vm) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	sig, _ := params["signal"].(string)
	p := problems{}
	switch sig {
	case "powerdown", "reset":
	case "sendkey":
		data, _ := params["data"].(string)
		if data == "" {
			p.add("data", "can't be blank")
		}
		for key := range strings.SplitSeq(data, "-") {
			if data != "" && !contains(defSendkeys, key) && !isSingleKey(key) {
				p.add("data", fmt.Sprintf("%q is not a known key", key))
			}
		}
	case "":
		p.add("signal", "can't be blank")
	default:
		p.add("signal", "is not included in the list")
	}
	if len(p) > 0 {
		return bad(p)
	}
	if v.deleted || !v.powerOn {
		return bad(problems{"power_on": []string{"the server is not running; signals can only be sent to a powered-on server"}})
	}
	if sig == "powerdown" && !s.hangOnPowerdown[v.id] && v.autoreboot {
		v.boot(nil) // it comes straight back up, afresh
	}
	if sig == "powerdown" && !s.hangOnPowerdown[v.id] && !v.autoreboot {
		if s.powerdownDelay > 0 {
			if _, pending := s.pendingPowerdowns[v.id]; !pending {
				s.pendingPowerdowns[v.id] = s.now().Add(s.powerdownDelay)
			}
		} else {
			v.powerOn = false
		}
	}
	return ok(map[string]string{"signal": sig})
}

// isSingleKey accepts the letter and digit keys sendkey also takes.
func isSingleKey(k string) bool {
	return len(k) == 1 && (k[0] >= 'a' && k[0] <= 'z' || k[0] >= '0' && k[0] <= '9')
}

// reimage is POST .../reimage: the VM must be off; afterwards it runs the
// new image with autoreboot off.
func (s *Server) reimage(c *call, v *vm) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	p := problems{}
	dist, distOK := checkIn(p, "distribution", params["distribution"], defDistributions)
	checkStrings(p, params, "root_password", "ssh_public_key", "firstboot_script")
	if len(p) > 0 {
		return bad(p)
	}
	if v.deleted {
		return bad(problems{"deleted": []string{"the server is deleted; restore it first"}})
	}
	if v.powerOn {
		return bad(problems{"power_on": []string{"the server must be powered off to reimage it"}})
	}
	if distOK {
		v.lastImagedWith = dist
	}
	v.powerOn, v.autoreboot = true, false
	v.boot(nil)
	s.building(v)
	return ok(s.st.wireVM(v, false))
}

// createVM is POST .../virtual_machines: a bare server with no discs
// and no operating system. Answers 202 with the server.
func (s *Server) createVM(c *call, g *group) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	if inner, isObj := params["virtual_machine"].(map[string]any); isObj {
		params = inner
	}
	v, r := s.buildVM(g, params, problems{}, "")
	if r.status != 0 {
		return r
	}
	return accepted(s.st.wireVM(v, true))
}

// vmCreate is POST .../vm_create: server, discs and image in one go.
func (s *Server) vmCreate(c *call, g *group) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	p := problems{}
	vmParams, isObj := params["virtual_machine"].(map[string]any)
	if !isObj {
		p.add("virtual_machine", "can't be blank")
		vmParams = map[string]any{}
	}
	type discReq struct {
		label, grade string
		size         int
	}
	var discs []discReq
	if dv, has := params["discs"]; has && dv != nil {
		list, isList := dv.([]any)
		switch {
		case !isList:
			p.add("discs", "is invalid")
		case len(list) > maxDiscs:
			p.add("discs", "a server can have at most 8 discs")
		default:
			perDisc := make([]problems, len(list))
			failed := false
			for i, item := range list {
				perDisc[i] = problems{}
				m, isMap := item.(map[string]any)
				if !isMap {
					perDisc[i].add("base", "is invalid")
					failed = true
					continue
				}
				if l, _ := m["label"].(string); l == "" {
					m["label"] = fmt.Sprintf("disc-%d", i+1)
				}
				label, size, grade, fine := checkDisc(perDisc[i], m, nil, nil)
				for _, d := range discs {
					if fine && d.label == label {
						perDisc[i].add("label", "has already been taken")
						fine = false
					}
				}
				if !fine {
					failed = true
					continue
				}
				discs = append(discs, discReq{label, grade, size})
			}
			if failed {
				p["discs"] = perDisc
			}
		}
	}
	dist := ""
	if rv, has := params["reimage"]; has && rv != nil {
		m, isMap := rv.(map[string]any)
		if !isMap {
			p.add("reimage", "is invalid")
		} else {
			dist, _ = checkIn(p, "distribution", m["distribution"], defDistributions)
			checkStrings(p, m, "root_password", "ssh_public_key", "firstboot_script")
		}
	}
	v, r := s.buildVM(g, vmParams, p, dist)
	if r.status != 0 {
		return r
	}
	for _, d := range discs {
		s.st.addDisc(v, d.label, d.size, d.grade)
	}
	s.building(v)
	return accepted(s.st.wireVM(v, true))
}

// buildVM validates params (adding to p) and creates the VM in g. It
// returns a non-zero resp when creation fails.
func (s *Server) buildVM(g *group, params map[string]any, p problems, dist string) (*vm, resp) {
	nv := vm{cores: 1, memory: 1024, hardwareProfile: "virtio2013", zone: "york", groupID: g.id}
	if r := s.vmAttrs(p, params, &nv, true); r.status != 0 {
		return nil, r
	}
	if nv.name != "" && s.st.findVMByName(g, nv.name) != nil {
		p.add("name", "has already been taken")
	}
	if len(p) > 0 {
		return nil, bad(p)
	}
	v := s.st.newVM(g, nv.name)
	v.cores, v.memory, v.hardwareProfile, v.hwLocked = nv.cores, nv.memory, nv.hardwareProfile, nv.hwLocked
	v.keymap, v.zone, v.cdromURL, v.autoreboot = nv.keymap, nv.zone, nv.cdromURL, nv.autoreboot
	v.lastImagedWith = dist
	on, _ := params["power_on"].(bool)
	// The official client never sends power_on on create; it sends
	// autoreboot_on, and the server starts when either is set.
	v.powerOn = on || v.autoreboot
	s.st.vms = append(s.st.vms, v)
	return v, resp{}
}

// checkStrings refuses keys of params that are present but neither a
// string nor null. The values are never echoed: root_password is a secret.
func checkStrings(p problems, params map[string]any, keys ...string) {
	for _, k := range keys {
		if v, has := params[k]; has && v != nil {
			if _, isStr := v.(string); !isStr {
				p.add(k, "is invalid")
			}
		}
	}
}
