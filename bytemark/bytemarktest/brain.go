package bytemarktest

import (
	"net/http"
	"net/url"
	"strconv"
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
