package bytemarktest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/bytemark/bytemarktest"
)

const (
	acmeVMs = "/accounts/acme/groups/default/virtual_machines"
	web1    = acmeVMs + "/web1"
	db1     = acmeVMs + "/db1"
)

// apiKeyAuth is the Authorization header of the demo API key.
const apiKeyAuth = "Bearer apikey." + bytemarktest.APIKey

func newFake(t *testing.T) *bytemarktest.Server {
	t.Helper()
	s := bytemarktest.NewServer()
	t.Cleanup(s.Close)
	return s
}

// reply is a response read in full.
type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

// problems decodes a 400 body.
func (r reply) problems(t *testing.T) map[string]any {
	t.Helper()
	var p map[string]any
	r.decode(t, &p)
	return p
}

// send makes a request the way the official client does: JSON content
// type and accept headers on every request, and the given Authorization
// header ("" for none).
func send(t *testing.T, s *bytemarktest.Server, auth, method, path, body string) reply {
	t.Helper()
	return sendCT(t, s, auth, "application/json", method, path, body)
}

func sendCT(t *testing.T, s *bytemarktest.Server, auth, contentType, method, path, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "bytemark-client-4.0")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// api sends with the demo API key.
func api(t *testing.T, s *bytemarktest.Server, method, path, body string) reply {
	t.Helper()
	return send(t, s, apiKeyAuth, method, path, body)
}

// mustStatus fails the test unless r has status want.
func mustStatus(t *testing.T, r reply, want int, what string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, body %q; want %d", what, r.status, r.body, want)
	}
}

// login creates a session with the demo credentials and returns the token.
func login(t *testing.T, s *bytemarktest.Server, validity any) string {
	t.Helper()
	params := map[string]any{"username": bytemarktest.Username, "password": bytemarktest.Password}
	if validity != nil {
		params["validity"] = validity
	}
	b, _ := json.Marshal(params)
	r := send(t, s, "", "POST", "/session", string(b))
	mustStatus(t, r, http.StatusOK, "login")
	return r.body
}

// vmJSON is the VM shape bytemark-client decodes (lib/brain).
type vmJSON struct {
	Type              string     `json:"type"`
	ID                int        `json:"id"`
	Name              string     `json:"name"`
	Hostname          string     `json:"hostname"`
	GroupID           int        `json:"group_id"`
	Cores             int        `json:"cores"`
	Memory            int        `json:"memory"`
	PowerOn           bool       `json:"power_on"`
	AutorebootOn      bool       `json:"autoreboot_on"`
	Deleted           bool       `json:"deleted"`
	Head              *string    `json:"head"`
	CdromURL          *string    `json:"cdrom_url"`
	Keymap            *string    `json:"keymap"`
	HardwareProfile   string     `json:"hardware_profile"`
	ZoneName          string     `json:"zone_name"`
	ManagementAddress string     `json:"management_address"`
	Discs             []discJSON `json:"discs"`
	NetworkInterfaces []nicJSON  `json:"network_interfaces"`
}

type discJSON struct {
	Type             string `json:"type"`
	ID               int    `json:"id"`
	Label            string `json:"label"`
	Size             int    `json:"size"`
	StorageGrade     string `json:"storage_grade"`
	StoragePool      string `json:"storage_pool"`
	VirtualMachineID int    `json:"virtual_machine_id"`
}

type nicJSON struct {
	Type             string            `json:"type"`
	ID               int               `json:"id"`
	Label            *string           `json:"label"`
	IPs              []string          `json:"ips"`
	MAC              string            `json:"mac"`
	VlanNum          int               `json:"vlan_num"`
	ExtraIPs         map[string]string `json:"extra_ips"`
	VirtualMachineID int               `json:"virtual_machine_id"`
}

type groupJSON struct {
	Type            string   `json:"type"`
	ID              int      `json:"id"`
	AccountID       int      `json:"account_id"`
	Name            string   `json:"name"`
	VirtualMachines []vmJSON `json:"virtual_machines"`
}

type accountJSON struct {
	ID        int         `json:"id"`
	Name      string      `json:"name"`
	Suspended bool        `json:"suspended"`
	Groups    []groupJSON `json:"groups"`
}

func getVM(t *testing.T, s *bytemarktest.Server, path string) vmJSON {
	t.Helper()
	r := api(t, s, "GET", path+"?include_deleted=true&view=overview", "")
	mustStatus(t, r, http.StatusOK, "GET "+path)
	var v vmJSON
	r.decode(t, &v)
	return v
}
