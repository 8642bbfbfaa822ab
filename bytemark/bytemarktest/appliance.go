package bytemarktest

// Appliances a server can boot into instead of its own discs. The API
// docs name only "rescue" (bytemark-api.md §4.5); the list is the fake's.
var defAppliances = []string{"rescue"}

// bootRequest is a PUT's "appliance": {"name": …, "permanent": …}.
type bootRequest struct {
	name      string
	permanent bool
}

// checkAppliance validates a PUT's appliance against the server v and the
// PUT's other params. The API documents only the body the official client
// sends with a start (power_on true) after a shutdown; the fake refuses an
// appliance in any other PUT, and for a server that is running (it could
// not take effect), with 400 {"appliance": [...]}.
func checkAppliance(p problems, params map[string]any, v *vm) *bootRequest {
	av, has := params["appliance"]
	if !has || av == nil {
		return nil
	}
	m, isObj := av.(map[string]any)
	if !isObj {
		p.add("appliance", "is invalid")
		return nil
	}
	name, valid := checkIn(problems{}, "appliance", m["name"], defAppliances)
	if !valid {
		p.add("appliance", "is not included in the list")
		return nil
	}
	req := &bootRequest{name: name}
	if pv, has := m["permanent"]; has && pv != nil {
		b, isBool := pv.(bool)
		if !isBool {
			p.add("appliance", "permanent is not a boolean")
			return nil
		}
		req.permanent = b
	}
	if on, _ := params["power_on"].(bool); !on {
		p.add("appliance", "can only be given when starting the server (with power_on true)")
		return nil
	}
	if v.powerOn {
		p.add("appliance", "the server is running; shut it down before starting it in an appliance")
		return nil
	}
	return req
}

// boot records that v starts afresh: into req's appliance when given,
// otherwise into its permanent appliance, if any, or its own discs.
func (v *vm) boot(req *bootRequest) {
	v.appliance = v.permAppliance
	if req != nil {
		v.appliance = req.name
		if req.permanent {
			v.permAppliance = req.name
		}
	}
}

// Appliance returns the appliance a server is running ("rescue"), or ""
// when it runs its own system or is off, and whether the server exists.
func (s *Server) Appliance(account, group, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	v := s.lookup(account, group, name)
	if v == nil {
		return "", false
	}
	if !v.powerOn {
		return "", true
	}
	return v.appliance, true
}
