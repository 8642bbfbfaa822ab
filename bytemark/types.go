// Package bytemark is a client for the Bytemark Cloud Servers API (the API
// still calls itself "BigV") and its auth host.
package bytemark

// An Account is a Bytemark account. Groups is filled in overview mode.
type Account struct {
	ID        int     `json:"id"`
	Name      string  `json:"name"`
	Suspended bool    `json:"suspended"`
	Groups    []Group `json:"groups,omitempty"`
}

// A Group is a group of servers inside an account. Servers is filled in
// overview mode.
type Group struct {
	ID        int      `json:"id"`
	AccountID int      `json:"account_id"`
	Name      string   `json:"name"`
	Servers   []Server `json:"virtual_machines,omitempty"`
}

// A Server is a cloud server ("virtual machine" in the API). Memory is in
// MiB. Discs and NetworkInterfaces are filled when the server is read in
// overview mode.
type Server struct {
	ID                int                `json:"id"`
	Name              string             `json:"name"`
	Hostname          string             `json:"hostname"`
	GroupID           int                `json:"group_id"`
	Cores             int                `json:"cores"`
	Memory            int                `json:"memory"`
	PowerOn           bool               `json:"power_on"`
	AutorebootOn      bool               `json:"autoreboot_on"`
	Deleted           bool               `json:"deleted"`
	ZoneName          string             `json:"zone_name,omitempty"`
	HardwareProfile   string             `json:"hardware_profile,omitempty"`
	ManagementAddress string             `json:"management_address,omitempty"`
	Head              string             `json:"head,omitempty"`
	LastImagedWith    string             `json:"last_imaged_with,omitempty"`
	Discs             []Disc             `json:"discs,omitempty"`
	NetworkInterfaces []NetworkInterface `json:"network_interfaces,omitempty"`
}

// A Disc is a disc attached to a server. Size is in MiB (25600 is 25 GiB).
type Disc struct {
	ID               int    `json:"id"`
	Label            string `json:"label"`
	Size             int    `json:"size"`
	StorageGrade     string `json:"storage_grade"`
	StoragePool      string `json:"storage_pool,omitempty"`
	VirtualMachineID int    `json:"virtual_machine_id"`
}

// A NetworkInterface is a server's NIC with its addresses.
type NetworkInterface struct {
	ID               int               `json:"id"`
	Label            string            `json:"label,omitempty"`
	MAC              string            `json:"mac"`
	VlanNum          int               `json:"vlan_num"`
	IPs              []string          `json:"ips"`
	ExtraIPs         map[string]string `json:"extra_ips,omitempty"`
	VirtualMachineID int               `json:"virtual_machine_id"`
}

// Definitions are the API's lists of valid values (GET /definitions).
type Definitions struct {
	Distributions    []string `json:"distributions"`
	StorageGrades    []string `json:"storage_grades"`
	ZoneNames        []string `json:"zone_names"`
	HardwareProfiles []string `json:"hardware_profiles"`
	Keymaps          []string `json:"keymaps"`
	Sendkeys         []string `json:"sendkeys"`
	// DistributionDescriptions names each distribution for people
	// ("bookworm": "Debian 12 (bookworm)"), where the API gives one.
	DistributionDescriptions map[string]string `json:"distribution_descriptions,omitempty"`
}

// A DiscSpec describes a disc to create. SizeMiB is in MiB.
type DiscSpec struct {
	Label        string
	SizeMiB      int
	StorageGrade string
}
