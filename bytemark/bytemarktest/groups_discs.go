package bytemarktest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Groups and discs: creating, updating and deleting them, as the API docs
// say (seed 003), for the routes in brain.go.

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
