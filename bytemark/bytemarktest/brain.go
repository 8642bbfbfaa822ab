package bytemarktest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	maxDiscs     = 8
	minDiscMiB   = 1024
	maxDiscMiB   = 2 * 1024 * 1024
	maxCores     = 16
	minMemoryMiB = 512
	maxMemoryMiB = 128 * 1024
)

// call is one API request being handled.
type call struct {
	method string
	query  url.Values
	vw     view
	body   []byte
}

func (c *call) write() bool { return c.method != http.MethodGet && c.method != http.MethodHead }

// serveBrain answers an API request: authentication, then routing.
func (s *Server) serveBrain(w http.ResponseWriter, r *http.Request, entry *Request, segs []string, body []byte) {
	q := r.URL.Query()
	c := &call{
		method: r.Method,
		query:  q,
		vw:     view{overview: q.Get("view") == "overview", includeDeleted: q.Get("include_deleted") == "true"},
		body:   body,
	}
	var out resp
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		kind := s.authenticate(r)
		entry.Auth = kind
		if len(segs) == 1 && segs[0] == "definitions" {
			if r.Method != http.MethodGet {
				out = methodNotAllowed(http.MethodGet)
				return
			}
			out = ok(definitions())
			return
		}
		if kind != AuthSession && kind != AuthAPIKey {
			out = text(http.StatusUnauthorized, "401 Unauthorized: a valid session token or API key is required")
			return
		}
		if (r.Method == http.MethodPost || r.Method == http.MethodPut) && !isJSON(r) {
			out = text(http.StatusUnsupportedMediaType, "415 Unsupported Media Type: Content-Type must be application/json")
			return
		}
		s.settle()
		out = s.route(c, segs)
	}()
	out.write(w)
}

// route dispatches on the first path segment. s.mu is held.
func (s *Server) route(c *call, segs []string) resp {
	if len(segs) == 0 {
		return notFound()
	}
	switch segs[0] {
	case "accounts":
		return s.routeAccounts(c, segs[1:])
	case "groups":
		return s.routeGroupsFlat(c, segs[1:])
	case "virtual_machines":
		return s.routeVMsFlat(c, segs[1:])
	case "discs":
		return s.routeDiscsFlat(c, segs[1:])
	}
	return notFound()
}

// visible reports whether the users may see a.
func visible(a *account) bool { return a != nil && a.access != AccessNone }

// routeAccounts handles /accounts and everything nested under it.
func (s *Server) routeAccounts(c *call, segs []string) resp {
	st := s.st
	if len(segs) == 0 {
		switch c.method {
		case http.MethodGet:
			out := []wireAccount{}
			for _, a := range st.accounts {
				if visible(a) {
					out = append(out, st.wireAccount(a, c.vw))
				}
			}
			return ok(out)
		case http.MethodPost:
			return forbidden() // account creation goes through billing
		}
		return methodNotAllowed("GET, POST")
	}
	a := st.findAccount(segs[0])
	if !visible(a) {
		return notFound()
	}
	if len(segs) == 1 {
		switch c.method {
		case http.MethodGet:
			return ok(st.wireAccount(a, c.vw))
		case http.MethodPut, http.MethodDelete:
			return forbidden() // account names cannot change; closing is restricted
		}
		return methodNotAllowed("GET, PUT, DELETE")
	}
	if segs[1] != "groups" {
		return notFound()
	}
	if len(segs) == 2 {
		switch c.method {
		case http.MethodGet:
			out := []wireGroup{}
			for _, g := range st.groupsIn(a) {
				out = append(out, st.wireGroup(g, c.vw))
			}
			return ok(out)
		case http.MethodPost:
			if a.access != AccessFull {
				return forbidden()
			}
			return s.createGroup(c, a)
		}
		return methodNotAllowed("GET, POST")
	}
	g := st.findGroup(a, segs[2])
	if g == nil {
		return notFound()
	}
	if c.write() && a.access != AccessFull {
		if !s.exists(g, segs[3:]) {
			return notFound()
		}
		return forbidden()
	}
	return s.routeGroup(c, a, g, segs[3:])
}

// exists reports whether the resource under g named by rest exists, so
// that a write to a missing thing in a read-only account is 404, not 403.
func (s *Server) exists(g *group, rest []string) bool {
	if len(rest) == 0 {
		return true
	}
	switch rest[0] {
	case "virtual_machines":
		if len(rest) == 1 {
			return true
		}
		v := s.st.findVM(g, rest[1])
		if v == nil {
			return false
		}
		if len(rest) == 2 {
			return true
		}
		switch rest[2] {
		case "signal", "reimage":
			return len(rest) == 3
		case "discs":
			return len(rest) == 3 || len(rest) == 4 && findDisc(v, rest[3]) != nil
		}
		return false
	case "vm_create":
		return len(rest) == 1
	}
	return false
}

// routeGroup handles /accounts/{a}/groups/{g}/...
func (s *Server) routeGroup(c *call, a *account, g *group, segs []string) resp {
	st := s.st
	if len(segs) == 0 {
		switch c.method {
		case http.MethodGet:
			return ok(st.wireGroup(g, c.vw))
		case http.MethodPut:
			return s.updateGroup(c, a, g)
		case http.MethodDelete:
			return s.deleteGroup(g)
		}
		return methodNotAllowed("GET, PUT, DELETE")
	}
	switch segs[0] {
	case "vm_create":
		if len(segs) != 1 {
			return notFound()
		}
		if c.method != http.MethodPost {
			return methodNotAllowed(http.MethodPost)
		}
		return s.vmCreate(c, g)
	case "virtual_machines":
	default:
		return notFound()
	}
	if len(segs) == 1 {
		switch c.method {
		case http.MethodGet:
			out := []wireVM{}
			for _, v := range st.vmsIn(g) {
				if v.deleted && !c.vw.includeDeleted {
					continue
				}
				out = append(out, st.wireVM(v, c.vw.overview))
			}
			return ok(out)
		case http.MethodPost:
			return s.createVM(c, g)
		}
		return methodNotAllowed("GET, POST")
	}
	v := st.findVM(g, segs[1])
	if v == nil {
		return notFound()
	}
	if len(segs) == 2 {
		switch c.method {
		case http.MethodGet:
			if v.deleted && !c.vw.includeDeleted {
				return notFound()
			}
			return ok(st.wireVM(v, c.vw.overview))
		case http.MethodPut:
			return s.updateVM(c, v)
		case http.MethodDelete:
			return s.deleteVM(c, v)
		}
		return methodNotAllowed("GET, PUT, DELETE")
	}
	switch segs[2] {
	case "signal":
		if len(segs) != 3 {
			return notFound()
		}
		if c.method != http.MethodPost {
			return methodNotAllowed(http.MethodPost)
		}
		return s.signal(c, v)
	case "reimage":
		if len(segs) != 3 {
			return notFound()
		}
		if c.method != http.MethodPost {
			return methodNotAllowed(http.MethodPost)
		}
		return s.reimage(c, v)
	case "discs":
	default:
		return notFound()
	}
	if len(segs) == 3 {
		switch c.method {
		case http.MethodGet:
			out := make([]wireDisc, 0, len(v.discs))
			for _, d := range v.discs {
				out = append(out, wireDiscOf(d))
			}
			return ok(out)
		case http.MethodPost:
			return s.createDisc(c, v)
		}
		return methodNotAllowed("GET, POST")
	}
	if len(segs) != 4 {
		return notFound()
	}
	d := findDisc(v, segs[3])
	if d == nil {
		return notFound()
	}
	switch c.method {
	case http.MethodGet:
		return ok(wireDiscOf(d))
	case http.MethodPut:
		return s.updateDisc(c, v, d)
	case http.MethodDelete:
		return s.deleteDisc(c, v, d)
	}
	return methodNotAllowed("GET, PUT, DELETE")
}

// ---- non-nested ("new style") endpoints: GET only, plus disc purge ----

// filterInt reads a numeric filter; a filter that is present but not a
// number matches nothing.
func filterInt(q url.Values, key string) (int, bool, bool) {
	if !q.Has(key) {
		return 0, false, true
	}
	n, err := strconv.Atoi(q.Get(key))
	return n, true, err == nil
}

// vmMatches applies the documented filters to a VM.
func (s *Server) vmMatches(q url.Values, v *vm) bool {
	g, a := s.st.vmPath(v)
	if !visible(a) {
		return false
	}
	checks := []struct {
		key  string
		id   int
		name string
	}{
		{"account", a.id, a.name},
		{"group", g.id, g.name},
		{"vm", v.id, v.name},
	}
	for _, ch := range checks {
		if id, has, valid := filterInt(q, ch.key+"_id"); has && (!valid || id != ch.id) {
			return false
		}
		if q.Has(ch.key+"_name") && q.Get(ch.key+"_name") != ch.name {
			return false
		}
	}
	return true
}

func (s *Server) routeGroupsFlat(c *call, segs []string) resp {
	if c.method != http.MethodGet {
		return methodNotAllowed(http.MethodGet)
	}
	st := s.st
	switch len(segs) {
	case 0:
		out := []wireGroup{}
		for _, g := range st.groups {
			a := st.accountByID(g.accountID)
			if !visible(a) {
				continue
			}
			if id, has, valid := filterInt(c.query, "account_id"); has && (!valid || id != a.id) {
				continue
			}
			if id, has, valid := filterInt(c.query, "group_id"); has && (!valid || id != g.id) {
				continue
			}
			if c.query.Has("account_name") && c.query.Get("account_name") != a.name {
				continue
			}
			if c.query.Has("group_name") && c.query.Get("group_name") != g.name {
				continue
			}
			out = append(out, st.wireGroup(g, c.vw))
		}
		return ok(out)
	case 1:
		id, err := strconv.Atoi(segs[0])
		if err != nil {
			return notFound()
		}
		g := st.groupByID(id)
		if g == nil || !visible(st.accountByID(g.accountID)) {
			return notFound()
		}
		return ok(st.wireGroup(g, c.vw))
	}
	return notFound()
}

func (s *Server) routeVMsFlat(c *call, segs []string) resp {
	if c.method != http.MethodGet {
		return methodNotAllowed(http.MethodGet)
	}
	st := s.st
	switch len(segs) {
	case 0:
		out := []wireVM{}
		for _, v := range st.vms {
			if v.deleted && !c.vw.includeDeleted || !s.vmMatches(c.query, v) {
				continue
			}
			out = append(out, st.wireVM(v, c.vw.overview))
		}
		return ok(out)
	case 1:
		id, err := strconv.Atoi(segs[0])
		if err != nil {
			return notFound()
		}
		v := st.vmByID(id)
		if v == nil || !s.vmMatches(nil, v) || v.deleted && !c.vw.includeDeleted {
			return notFound()
		}
		return ok(st.wireVM(v, c.vw.overview))
	}
	return notFound()
}

func (s *Server) routeDiscsFlat(c *call, segs []string) resp {
	st := s.st
	switch len(segs) {
	case 0:
		if c.method != http.MethodGet {
			return methodNotAllowed(http.MethodGet)
		}
		out := []wireDisc{}
		for _, v := range st.vms {
			if v.deleted && !c.vw.includeDeleted || !s.vmMatches(c.query, v) {
				continue
			}
			for _, d := range v.discs {
				out = append(out, wireDiscOf(d))
			}
		}
		return ok(out)
	case 1:
		id, err := strconv.Atoi(segs[0])
		if err != nil {
			return notFound()
		}
		var v *vm
		var d *disc
		for _, x := range st.vms {
			for _, y := range x.discs {
				if y.id == id {
					v, d = x, y
				}
			}
		}
		if d == nil || !s.vmMatches(nil, v) {
			return notFound()
		}
		switch c.method {
		case http.MethodGet:
			return ok(wireDiscOf(d))
		case http.MethodDelete:
			if _, a := st.vmPath(v); a.access != AccessFull {
				return forbidden()
			}
			return s.deleteDisc(c, v, d)
		}
		return methodNotAllowed("GET, DELETE")
	}
	return notFound()
}

// ---- groups ----

func (s *Server) createGroup(c *call, a *account) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	p := problems{}
	name, nameOK := checkName(p, params["name"], 1)
	if nameOK && s.st.findGroupByName(a, name) != nil {
		p.add("name", "has already been taken")
	}
	if len(p) > 0 {
		return bad(p)
	}
	g := &group{id: s.st.id("group"), accountID: a.id, name: name}
	s.st.groups = append(s.st.groups, g)
	return created(s.st.wireGroup(g, view{}))
}

func (st *state) findGroupByName(a *account, name string) *group {
	for _, g := range st.groups {
		if g.accountID == a.id && g.name == name {
			return g
		}
	}
	return nil
}

func (s *Server) updateGroup(c *call, a *account, g *group) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	if v, has := params["name"]; has {
		p := problems{}
		name, nameOK := checkName(p, v, 1)
		if other := s.st.findGroupByName(a, name); nameOK && other != nil && other != g {
			p.add("name", "has already been taken")
		}
		if len(p) > 0 {
			return bad(p)
		}
		g.name = name
	}
	return ok(s.st.wireGroup(g, view{}))
}

func (s *Server) deleteGroup(g *group) resp {
	if n := len(s.st.vmsIn(g)); n > 0 {
		return text(http.StatusBadRequest, "Group "+g.name+" still contains "+strconv.Itoa(n)+" server(s), including deleted ones; purge them before deleting the group")
	}
	for i, x := range s.st.groups {
		if x == g {
			s.st.groups = append(s.st.groups[:i:i], s.st.groups[i+1:]...)
			break
		}
	}
	return noContent()
}

// ---- discs ----

func (s *Server) createDisc(c *call, v *vm) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	if v.deleted {
		return bad(problems{"virtual_machine": []string{"is deleted; restore it before changing its discs"}})
	}
	if len(v.discs) >= maxDiscs {
		return bad(problems{"discs": []string{"a server can have at most 8 discs"}})
	}
	p := problems{}
	label, size, grade, fine := checkDisc(p, params, v, nil)
	if !fine {
		return bad(p)
	}
	d := s.st.addDisc(v, label, size, grade)
	return created(wireDiscOf(d))
}

// checkDisc validates a new disc's label, size and storage_grade. other
// is the disc being replaced when relabelling, nil for a new one.
func checkDisc(p problems, params map[string]any, v *vm, other *disc) (string, int, string, bool) {
	label, labelOK := checkLabel(p, params["label"])
	if labelOK && v != nil {
		if d := findDiscByLabel(v, label); d != nil && d != other {
			p.add("label", "has already been taken")
		}
	}
	size := 0
	if sv, has := params["size"]; !has || sv == nil {
		p.add("size", "can't be blank")
	} else {
		size, _ = checkInt(p, "size", sv, minDiscMiB, maxDiscMiB)
	}
	grade := "sata"
	if gv, has := params["storage_grade"]; has && gv != nil {
		grade, _ = checkIn(p, "storage_grade", gv, defStorageGrades)
	}
	return label, size, grade, len(p) == 0
}

func findDiscByLabel(v *vm, label string) *disc {
	for _, d := range v.discs {
		if d.label == label {
			return d
		}
	}
	return nil
}

func (s *Server) updateDisc(c *call, v *vm, d *disc) resp {
	params, valid := parseObject(c.body)
	if !valid {
		return badBody()
	}
	if v.deleted {
		return bad(problems{"virtual_machine": []string{"is deleted; restore it before changing its discs"}})
	}
	p := problems{}
	nd := *d
	if lv, has := params["label"]; has {
		label, labelOK := checkLabel(p, lv)
		if other := findDiscByLabel(v, label); labelOK && other != nil && other != d {
			p.add("label", "has already been taken")
		}
		nd.label = label
	}
	if sv, has := params["size"]; has {
		if size, sizeOK := checkInt(p, "size", sv, minDiscMiB, maxDiscMiB); sizeOK {
			if size < d.size {
				p.add("size", "cannot be reduced; discs can only grow")
			}
			nd.size = size
		}
	}
	if gv, has := params["storage_grade"]; has {
		if grade, gradeOK := checkIn(p, "storage_grade", gv, defStorageGrades); gradeOK && grade != d.grade {
			nd.grade, nd.pool = grade, poolFor(grade)
		}
	}
	if iv, has := params["iops_limit"]; has && iv != nil {
		checkInt(p, "iops_limit", iv, 0, 1<<30)
	}
	var target *vm
	if tv, has := params["virtual_machine_id"]; has {
		id, idOK := toInt(tv)
		switch {
		case !idOK:
			p.add("virtual_machine_id", "is not a number")
		case id == v.id:
		default:
			target = s.st.vmByID(id)
			if target == nil || !s.vmMatches(nil, target) || target.deleted {
				p.add("virtual_machine_id", "is invalid")
				target = nil
				break
			}
			if _, ta := s.st.vmPath(target); ta.access != AccessFull {
				return forbidden()
			}
			switch {
			case v.powerOn || target.powerOn:
				p.add("virtual_machine_id", "both servers must be powered off to move a disc")
			case len(v.discs) > 0 && v.discs[0] == d:
				p.add("virtual_machine_id", "the root disc cannot be moved")
			case len(target.discs) >= maxDiscs:
				p.add("virtual_machine_id", "the target server already has 8 discs")
			case findDiscByLabel(target, nd.label) != nil:
				p.add("label", "has already been taken")
			}
		}
	}
	if len(p) > 0 {
		return bad(p)
	}
	*d = nd
	if target != nil {
		removeDisc(v, d)
		d.vmID = target.id
		target.discs = append(target.discs, d)
	}
	return ok(wireDiscOf(d))
}

func removeDisc(v *vm, d *disc) {
	for i, x := range v.discs {
		if x == d {
			v.discs = append(v.discs[:i:i], v.discs[i+1:]...)
			return
		}
	}
}

func (s *Server) deleteDisc(c *call, v *vm, d *disc) resp {
	if c.query.Get("purge") != "true" {
		return text(http.StatusInternalServerError, "500 Internal Server Error: discs can only be purged; add purge=true")
	}
	if v.deleted {
		return bad(problems{"virtual_machine": []string{"is deleted; restore it before changing its discs"}})
	}
	removeDisc(v, d)
	return noContent()
}

// ---- helpers shared by VM handlers ----

// isTrue reads a query flag.
func isTrue(q url.Values, key string) bool { return strings.EqualFold(q.Get(key), "true") }
