package bytemarktest

import (
	"fmt"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// lookup finds a VM by exact account, group and server names, whatever
// the account's access. s.mu must be held.
func (s *Server) lookup(account, group, name string) *vm {
	st := s.st
	for _, a := range st.accounts {
		if a.name != account {
			continue
		}
		g := st.findGroupByName(a, group)
		if g == nil {
			return nil
		}
		return st.findVMByName(g, name)
	}
	return nil
}

// Server returns the current state of a server, including its discs and
// network interfaces, and whether it exists. Deleted servers are
// returned (with Deleted set) until they are purged. Access rules do not
// apply: hidden accounts can be read too.
func (s *Server) Server(account, group, name string) (bytemark.Server, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	v := s.lookup(account, group, name)
	if v == nil {
		return bytemark.Server{}, false
	}
	return s.st.toServer(v), true
}

// Servers returns every server of a group (deleted ones included), in
// creation order.
func (s *Server) Servers(account, group string) []bytemark.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	var out []bytemark.Server
	for _, a := range s.st.accounts {
		if a.name != account {
			continue
		}
		if g := s.st.findGroupByName(a, group); g != nil {
			for _, v := range s.st.vmsIn(g) {
				out = append(out, s.st.toServer(v))
			}
		}
	}
	return out
}

// Accounts returns every account with its groups and servers (deleted
// ones and hidden accounts included), as in an overview.
func (s *Server) Accounts() []bytemark.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	var out []bytemark.Account
	for _, a := range s.st.accounts {
		ba := bytemark.Account{ID: a.id, Name: a.name, Suspended: a.suspended}
		for _, g := range s.st.groupsIn(a) {
			bg := bytemark.Group{ID: g.id, AccountID: a.id, Name: g.name}
			for _, v := range s.st.vmsIn(g) {
				bg.Servers = append(bg.Servers, s.st.toServer(v))
			}
			ba.Groups = append(ba.Groups, bg)
		}
		out = append(out, ba)
	}
	return out
}

func (st *state) toServer(v *vm) bytemark.Server {
	srv := bytemark.Server{
		ID:                v.id,
		Name:              v.name,
		Hostname:          st.hostname(v),
		GroupID:           v.groupID,
		Cores:             v.cores,
		Memory:            v.memory,
		PowerOn:           v.powerOn,
		AutorebootOn:      v.autoreboot,
		Deleted:           v.deleted,
		ZoneName:          v.zone,
		HardwareProfile:   v.hardwareProfile,
		ManagementAddress: v.mgmt,
		LastImagedWith:    v.lastImagedWith,
	}
	if v.powerOn {
		srv.Head = v.head
	}
	for _, d := range v.discs {
		srv.Discs = append(srv.Discs, bytemark.Disc{
			ID: d.id, Label: d.label, Size: d.size, StorageGrade: d.grade,
			StoragePool: d.pool, VirtualMachineID: d.vmID,
		})
	}
	for _, n := range v.nics {
		w := wireNICOf(n)
		srv.NetworkInterfaces = append(srv.NetworkInterfaces, bytemark.NetworkInterface{
			ID: n.id, MAC: n.mac, VlanNum: n.vlan, IPs: w.IPs, ExtraIPs: w.ExtraIPs, VirtualMachineID: n.vmID,
		})
	}
	return srv
}

// SetPower powers a server on or off behind the API's back (as if it
// crashed, or someone used the panel), cancelling any pending powerdown.
// It reports whether the server exists.
func (s *Server) SetPower(account, group, name string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.lookup(account, group, name)
	if v == nil {
		return false
	}
	delete(s.pendingPowerdowns, v.id)
	if on && !v.powerOn {
		v.boot(nil)
	}
	v.powerOn = on
	return true
}

// SetAutoreboot sets a server's autoreboot_on flag behind the API's back.
// It reports whether the server exists.
func (s *Server) SetAutoreboot(account, group, name string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.lookup(account, group, name)
	if v == nil {
		return false
	}
	v.autoreboot = on
	return true
}

// HangOnPowerdown makes a server ignore (hang true) or obey ACPI
// powerdown signals, like a guest that is wedged, so that clients waiting
// for it to power off time out. It reports whether the server exists.
func (s *Server) HangOnPowerdown(account, group, name string, hang bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.lookup(account, group, name)
	if v == nil {
		return false
	}
	if hang {
		s.hangOnPowerdown[v.id] = true
	} else {
		delete(s.hangOnPowerdown, v.id)
	}
	return true
}

// SetPowerdownDelay makes servers take d (on the fake's clock) to power
// off after a powerdown signal, so that clients have to poll. Zero, the
// default, powers them off at once.
func (s *Server) SetPowerdownDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.powerdownDelay = d
}

// AddAccount adds an account with a "default" group and the given
// access, and returns its id.
func (s *Server) AddAccount(name string, access Access) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.st.accounts {
		if a.name == name {
			return 0, fmt.Errorf("bytemarktest: account %q already exists", name)
		}
	}
	a := &account{id: s.st.id("account"), name: name, access: access}
	s.st.accounts = append(s.st.accounts, a)
	s.st.groups = append(s.st.groups, &group{id: s.st.id("group"), accountID: a.id, name: "default"})
	return a.id, nil
}

// SetAccess changes what users may do with an account. It reports
// whether the account exists.
func (s *Server) SetAccess(account string, access Access) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.st.accounts {
		if a.name == account {
			a.access = access
			return true
		}
	}
	return false
}

// AddServer adds a server to group (created if missing) of an existing
// account and returns it as stored. From srv it takes Name (required),
// Cores, Memory, PowerOn, AutorebootOn, Deleted, ZoneName,
// HardwareProfile, Head, LastImagedWith and Discs (Label, Size,
// StorageGrade, StoragePool); ids, hostname, addresses and a network
// interface are made up, and unset fields get the defaults of a new
// server (1 core, 1024 MiB, york, virtio2013). A server given no discs
// gets a 25600 MiB sata disc labelled "root". Disc labels are not
// checked, so legacy labels such as "vda" can be stored.
func (s *Server) AddServer(accountName, groupName string, srv bytemark.Server) (bytemark.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	var a *account
	for _, x := range st.accounts {
		if x.name == accountName {
			a = x
		}
	}
	if a == nil {
		return bytemark.Server{}, fmt.Errorf("bytemarktest: no account %q", accountName)
	}
	if srv.Name == "" {
		return bytemark.Server{}, fmt.Errorf("bytemarktest: AddServer needs a name")
	}
	if len(srv.Discs) > maxDiscs {
		return bytemark.Server{}, fmt.Errorf("bytemarktest: %d discs; a server has at most %d", len(srv.Discs), maxDiscs)
	}
	g := st.findGroupByName(a, groupName)
	if g == nil {
		g = &group{id: st.id("group"), accountID: a.id, name: groupName}
		st.groups = append(st.groups, g)
	}
	if st.findVMByName(g, srv.Name) != nil {
		return bytemark.Server{}, fmt.Errorf("bytemarktest: server %s.%s.%s already exists", srv.Name, groupName, accountName)
	}
	v := st.newVM(g, srv.Name)
	if srv.Cores > 0 {
		v.cores = srv.Cores
	}
	if srv.Memory > 0 {
		v.memory = srv.Memory
	}
	if srv.ZoneName != "" {
		v.zone = srv.ZoneName
	}
	if srv.HardwareProfile != "" {
		v.hardwareProfile = srv.HardwareProfile
	}
	if srv.Head != "" {
		v.head = srv.Head
	}
	v.powerOn, v.autoreboot, v.deleted = srv.PowerOn, srv.AutorebootOn, srv.Deleted
	if v.deleted {
		v.powerOn = false
	}
	v.lastImagedWith = srv.LastImagedWith
	if len(srv.Discs) == 0 {
		st.addDisc(v, "root", 25600, "sata")
	}
	for _, d := range srv.Discs {
		grade := d.StorageGrade
		if grade == "" {
			grade = "sata"
		}
		nd := st.addDisc(v, d.Label, d.Size, grade)
		if d.StoragePool != "" {
			nd.pool = d.StoragePool
		}
	}
	st.vms = append(st.vms, v)
	return st.toServer(v), nil
}
