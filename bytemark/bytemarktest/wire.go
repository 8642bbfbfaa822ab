package bytemarktest

// Wire shapes of the API's JSON, field for field as the real Brain sends
// them (bytemark-api.md §4.1, §5, §6): "type" media types, null for unset
// strings, discs and network_interfaces only in overview mode.

const (
	typeGroup = "application/vnd.bigv.group"
	typeVM    = "application/vnd.bigv.virtual-machine"
	typeDisc  = "application/vnd.bigv.disc"
	typeNIC   = "application/vnd.bigv.network-interface"
)

type wireAccount struct {
	ID        int          `json:"id"`
	Name      string       `json:"name"`
	Suspended bool         `json:"suspended"`
	Groups    *[]wireGroup `json:"groups,omitempty"`
}

type wireGroup struct {
	Type            string    `json:"type"`
	AccountID       int       `json:"account_id"`
	ID              int       `json:"id"`
	Name            string    `json:"name"`
	VirtualMachines *[]wireVM `json:"virtual_machines,omitempty"`
}

type wireVM struct {
	Type                  string      `json:"type"`
	AutorebootOn          bool        `json:"autoreboot_on"`
	CdromURL              *string     `json:"cdrom_url"`
	Cores                 int         `json:"cores"`
	Deleted               bool        `json:"deleted"`
	GroupID               int         `json:"group_id"`
	HardwareProfile       string      `json:"hardware_profile"`
	HardwareProfileLocked bool        `json:"hardware_profile_locked"`
	Head                  *string     `json:"head"`
	Hostname              string      `json:"hostname"`
	ID                    int         `json:"id"`
	Keymap                *string     `json:"keymap"`
	LastImagedWith        *string     `json:"last_imaged_with"`
	ManagementAddress     string      `json:"management_address"`
	Memory                int         `json:"memory"`
	Name                  string      `json:"name"`
	PowerOn               bool        `json:"power_on"`
	ZoneName              string      `json:"zone_name"`
	Discs                 *[]wireDisc `json:"discs,omitempty"`
	NetworkInterfaces     *[]wireNIC  `json:"network_interfaces,omitempty"`
}

type wireDisc struct {
	Type             string `json:"type"`
	ID               int    `json:"id"`
	Label            string `json:"label"`
	Size             int    `json:"size"`
	StorageGrade     string `json:"storage_grade"`
	StoragePool      string `json:"storage_pool"`
	VirtualMachineID int    `json:"virtual_machine_id"`
}

type wireNIC struct {
	Type             string            `json:"type"`
	ID               int               `json:"id"`
	Label            *string           `json:"label"`
	IPs              []string          `json:"ips"`
	VlanNum          int               `json:"vlan_num"`
	MAC              string            `json:"mac"`
	ExtraIPs         map[string]string `json:"extra_ips"`
	VirtualMachineID int               `json:"virtual_machine_id"`
}

type wireDefinition struct {
	ID   string `json:"id"`
	Data any    `json:"data"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// view says how much to put in a listing.
type view struct {
	overview       bool
	includeDeleted bool
}

func (st *state) wireAccount(a *account, vw view) wireAccount {
	w := wireAccount{ID: a.id, Name: a.name, Suspended: a.suspended}
	if vw.overview {
		gs := []wireGroup{}
		for _, g := range st.groupsIn(a) {
			gs = append(gs, st.wireGroup(g, vw))
		}
		w.Groups = &gs
	}
	return w
}

func (st *state) wireGroup(g *group, vw view) wireGroup {
	w := wireGroup{Type: typeGroup, AccountID: g.accountID, ID: g.id, Name: g.name}
	if vw.overview {
		vs := []wireVM{}
		for _, v := range st.vmsIn(g) {
			if v.deleted && !vw.includeDeleted {
				continue
			}
			vs = append(vs, st.wireVM(v, vw.overview))
		}
		w.VirtualMachines = &vs
	}
	return w
}

func (st *state) wireVM(v *vm, overview bool) wireVM {
	w := wireVM{
		Type:                  typeVM,
		AutorebootOn:          v.autoreboot,
		CdromURL:              nullable(v.cdromURL),
		Cores:                 v.cores,
		Deleted:               v.deleted,
		GroupID:               v.groupID,
		HardwareProfile:       v.hardwareProfile,
		HardwareProfileLocked: v.hwLocked,
		Hostname:              st.hostname(v),
		ID:                    v.id,
		Keymap:                nullable(v.keymap),
		LastImagedWith:        nullable(v.lastImagedWith),
		ManagementAddress:     v.mgmt,
		Memory:                v.memory,
		Name:                  v.name,
		PowerOn:               v.powerOn,
		ZoneName:              v.zone,
	}
	if v.powerOn {
		w.Head = nullable(v.head)
	}
	if overview {
		ds := make([]wireDisc, 0, len(v.discs))
		for _, d := range v.discs {
			ds = append(ds, wireDiscOf(d))
		}
		ns := make([]wireNIC, 0, len(v.nics))
		for _, n := range v.nics {
			ns = append(ns, wireNICOf(n))
		}
		w.Discs, w.NetworkInterfaces = &ds, &ns
	}
	return w
}

func wireDiscOf(d *disc) wireDisc {
	return wireDisc{
		Type:             typeDisc,
		ID:               d.id,
		Label:            d.label,
		Size:             d.size,
		StorageGrade:     d.grade,
		StoragePool:      d.pool,
		VirtualMachineID: d.vmID,
	}
}

func wireNICOf(n *nic) wireNIC {
	extra := make(map[string]string, len(n.extraIPs))
	for k, v := range n.extraIPs {
		extra[k] = v
	}
	return wireNIC{
		Type:             typeNIC,
		ID:               n.id,
		IPs:              append([]string(nil), n.ips...),
		VlanNum:          n.vlan,
		MAC:              n.mac,
		ExtraIPs:         extra,
		VirtualMachineID: n.vmID,
	}
}

func definitions() []wireDefinition {
	return []wireDefinition{
		{ID: "distributions", Data: defDistributions},
		{ID: "storage_grades", Data: defStorageGrades},
		{ID: "zone_names", Data: defZones},
		{ID: "hardware_profiles", Data: defHardwareProfiles},
		{ID: "keymaps", Data: defKeymaps},
		{ID: "sendkeys", Data: defSendkeys},
		{ID: "distribution_descriptions", Data: map[string]string{
			"bookworm":  "Debian 12 (bookworm)",
			"bullseye":  "Debian 11 (bullseye)",
			"buster":    "Debian 10 (buster)",
			"centos7":   "CentOS 7",
			"jammy":     "Ubuntu 22.04 LTS (Jammy Jellyfish)",
			"noble":     "Ubuntu 24.04 LTS (Noble Numbat)",
			"symbiosis": "Bytemark Symbiosis",
		}},
		{ID: "storage_grade_descriptions", Data: map[string]string{
			"archive": "Archive storage: large, slow, cheap",
			"sata":    "SATA storage: the default",
			"ssd":     "SSD storage: fast",
		}},
	}
}
