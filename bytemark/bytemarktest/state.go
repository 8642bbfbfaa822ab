package bytemarktest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Access is what the fake's users may do with an account.
type Access int

// Access levels. Every user and API key of a Server has the same access.
const (
	// AccessNone hides the account: every request under it is 404.
	AccessNone Access = iota
	// AccessRead lets users read the account; writes under it are 403.
	AccessRead
	// AccessFull lets users read and change the account.
	AccessFull
)

// state is the fake's data. Server.mu guards it.
type state struct {
	accounts []*account
	groups   []*group
	vms      []*vm // purged VMs are removed
	nextID   map[string]int
	nextIP   int // last octet counter for addresses

	buildDelay   time.Duration     // how long vm_create and reimage take
	pendingBoots map[int]time.Time // vm id -> when its build ends and it starts
	refuseLive   bool              // refuse cores, memory and hardware_profile changes while running
}

type account struct {
	id        int
	name      string
	suspended bool
	access    Access
}

type group struct {
	id        int
	accountID int
	name      string
	vlan      int // private VLAN, 0 for none
}

type vm struct {
	id              int
	groupID         int
	name            string
	cores           int
	memory          int
	powerOn         bool
	autoreboot      bool
	deleted         bool
	cdromURL        string // "" is null
	keymap          string // "" is null
	hardwareProfile string
	hwLocked        bool
	zone            string
	mgmt            string
	head            string // head when powered on
	lastImagedWith  string // "" is null
	appliance       string // what the current boot runs: "" for its own discs
	permAppliance   string // what every boot runs, set with "permanent": true
	discs           []*disc
	nics            []*nic
}

type disc struct {
	id    int
	vmID  int
	label string
	size  int
	grade string
	pool  string
}

type nic struct {
	id       int
	vmID     int
	mac      string
	vlan     int
	ips      []string
	extraIPs map[string]string
}

// Valid values, as served by GET /definitions.
var (
	defDistributions    = []string{"bookworm", "bullseye", "buster", "centos7", "jammy", "noble", "symbiosis"}
	defStorageGrades    = []string{"archive", "sata", "ssd"}
	defZones            = []string{"manchester", "york"}
	defHardwareProfiles = []string{"compatibility2011", "virtio2013", "virtio2018"}
	defKeymaps          = []string{"de", "en-gb", "en-us", "es", "fr", "it", "nl"}
	defSendkeys         = []string{"alt", "backspace", "ctrl", "delete", "esc", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "ret", "shift", "spc", "sysrq", "tab"}
)

func (st *state) id(kind string) int {
	st.nextID[kind]++
	return st.nextID[kind]
}

func (st *state) accountByID(id int) *account {
	for _, a := range st.accounts {
		if a.id == id {
			return a
		}
	}
	return nil
}

func (st *state) groupByID(id int) *group {
	for _, g := range st.groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

func (st *state) vmByID(id int) *vm {
	for _, v := range st.vms {
		if v.id == id {
			return v
		}
	}
	return nil
}

// findAccount resolves a path segment: name first, then numeric id.
func (st *state) findAccount(seg string) *account {
	for _, cand := range segCandidates(seg) {
		for _, a := range st.accounts {
			if a.name == cand {
				return a
			}
		}
	}
	if id, err := strconv.Atoi(seg); err == nil {
		return st.accountByID(id)
	}
	return nil
}

func (st *state) findGroup(a *account, seg string) *group {
	for _, cand := range segCandidates(seg) {
		for _, g := range st.groups {
			if g.accountID == a.id && g.name == cand {
				return g
			}
		}
	}
	if id, err := strconv.Atoi(seg); err == nil {
		if g := st.groupByID(id); g != nil && g.accountID == a.id {
			return g
		}
	}
	return nil
}

func (st *state) findVM(g *group, seg string) *vm {
	for _, cand := range segCandidates(seg) {
		for _, v := range st.vms {
			if v.groupID == g.id && v.name == cand {
				return v
			}
		}
	}
	if id, err := strconv.Atoi(seg); err == nil {
		if v := st.vmByID(id); v != nil && v.groupID == g.id {
			return v
		}
	}
	return nil
}

func findDisc(v *vm, seg string) *disc {
	for _, cand := range segCandidates(seg) {
		for _, d := range v.discs {
			if d.label == cand {
				return d
			}
		}
	}
	if id, err := strconv.Atoi(seg); err == nil {
		for _, d := range v.discs {
			if d.id == id {
				return d
			}
		}
	}
	return nil
}

// segCandidates is the segment as given and, when it holds a "+", with
// "+" read as a space (the official client escapes path parts with
// url.QueryEscape).
func segCandidates(seg string) []string {
	if strings.Contains(seg, "+") {
		return []string{seg, strings.ReplaceAll(seg, "+", " ")}
	}
	return []string{seg}
}

// vmPath returns the group and account of v.
func (st *state) vmPath(v *vm) (*group, *account) {
	g := st.groupByID(v.groupID)
	return g, st.accountByID(g.accountID)
}

func (st *state) hostname(v *vm) string {
	g, a := st.vmPath(v)
	return fmt.Sprintf("%s.%s.%s.uk0.bigv.io", v.name, g.name, a.name)
}

func (st *state) vmsIn(g *group) []*vm {
	var out []*vm
	for _, v := range st.vms {
		if v.groupID == g.id {
			out = append(out, v)
		}
	}
	return out
}

func (st *state) groupsIn(a *account) []*group {
	var out []*group
	for _, g := range st.groups {
		if g.accountID == a.id {
			out = append(out, g)
		}
	}
	return out
}

func (st *state) removeVM(v *vm) {
	st.vms = slices.DeleteFunc(st.vms, func(x *vm) bool { return x == v })
}

// poolFor names the storage pool a new disc of grade lands in.
func poolFor(grade string) string {
	switch grade {
	case "archive":
		return "t1-archive1"
	case "ssd":
		return "tail1-ssd1"
	default:
		return "tail1-" + grade + "1"
	}
}

// newNIC allocates a NIC with fresh IPv4 and IPv6 addresses and a MAC.
func (st *state) newNIC(v *vm) *nic {
	st.nextIP++
	n := st.nextIP
	return &nic{
		id:   st.id("nic"),
		vmID: v.id,
		mac:  fmt.Sprintf("fe:ff:00:%02x:%02x:%02x", (v.id>>8)&0xff, v.id&0xff, n&0xff),
		vlan: 1,
		ips: []string{
			fmt.Sprintf("203.0.113.%d", 10+n%240),
			fmt.Sprintf("2001:db8:41c8:%x::1", n),
		},
		extraIPs: map[string]string{},
	}
}

// newVM makes a VM in g with the fake's defaults and a NIC; the caller
// fills in the rest and appends it.
func (st *state) newVM(g *group, name string) *vm {
	v := &vm{
		id:              st.id("vm"),
		groupID:         g.id,
		name:            name,
		cores:           1,
		memory:          1024,
		hardwareProfile: "virtio2013",
		zone:            "york",
	}
	st.nextIP++
	v.mgmt = fmt.Sprintf("198.51.100.%d", 10+st.nextIP%240)
	v.head = fmt.Sprintf("head%d", 100+v.id%50)
	v.nics = []*nic{st.newNIC(v)}
	return v
}

func (st *state) addDisc(v *vm, label string, size int, grade string) *disc {
	d := &disc{id: st.id("disc"), vmID: v.id, label: label, size: size, grade: grade, pool: poolFor(grade)}
	v.discs = append(v.discs, d)
	return d
}

// seed builds the demo data described at NewServer.
func seed() *state {
	st := &state{pendingBoots: make(map[int]time.Time), nextID: map[string]int{
		"account": 0,
		"group":   10,
		"vm":      1000,
		"disc":    2000,
		"nic":     3000,
	}}
	acct := func(name string, access Access) *account {
		a := &account{id: st.id("account"), name: name, access: access}
		st.accounts = append(st.accounts, a)
		return a
	}
	grp := func(a *account, name string) *group {
		g := &group{id: st.id("group"), accountID: a.id, name: name}
		st.groups = append(st.groups, g)
		return g
	}
	server := func(g *group, name string, cores, memory int, on bool) *vm {
		v := st.newVM(g, name)
		v.cores, v.memory = cores, memory
		v.powerOn, v.autoreboot = on, on
		v.lastImagedWith = "bookworm"
		st.vms = append(st.vms, v)
		return v
	}

	acme := acct("acme", AccessFull)
	def := grp(acme, "default")
	staging := grp(acme, "staging")

	web1 := server(def, "web1", 1, 2048, true)
	web1.head = "head123"
	st.addDisc(web1, "root", 25600, "sata")

	web2 := server(def, "web2", 2, 4096, true)
	st.addDisc(web2, "root", 25600, "sata")

	db1 := server(def, "db1", 4, 8192, true)
	db1.hardwareProfile = "virtio2018"
	st.addDisc(db1, "root", 25600, "sata")
	st.addDisc(db1, "data", 102400, "ssd")
	st.addDisc(db1, "backups", 512000, "archive")

	old1 := server(def, "old1", 1, 1024, false)
	old1.deleted = true
	old1.lastImagedWith = "stretch"
	old1.hardwareProfile = "compatibility2011"
	old1.keymap = "en-gb"
	// Legacy labels: the API refuses them now but old data still has them.
	st.addDisc(old1, "vda", 25600, "sata")
	st.addDisc(old1, "vdb", 51200, "archive")

	stage1 := server(staging, "stage1", 1, 1024, false)
	stage1.zone = "manchester"
	stage1.head = "head31"
	st.addDisc(stage1, "root", 25600, "sata")
	for _, d := range stage1.discs {
		d.pool = "tail3-sata2"
	}

	partner := acct("partner", AccessRead)
	pdef := grp(partner, "default")
	app1 := server(pdef, "app1", 2, 2048, true)
	st.addDisc(app1, "root", 25600, "sata")

	hidden := acct("hidden", AccessNone)
	hdef := grp(hidden, "default")
	secret1 := server(hdef, "secret1", 1, 1024, true)
	st.addDisc(secret1, "root", 25600, "sata")
	return st
}
