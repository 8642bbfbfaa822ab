package bytemark

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of CreateServer, those of the official client.
const (
	DefaultCores        = 1
	DefaultMemoryMiB    = 1024
	DefaultDiscSizeMiB  = 25600
	DefaultStorageGrade = "sata"
)

// RescueAppliance is the appliance RescueServer boots into.
const RescueAppliance = "rescue"

// An ImageInstall is an operating system to install on a server's first
// disc (with CreateServer or ReimageServer). RootPassword is a secret: the
// client never logs it, and it is scrubbed from every error.
type ImageInstall struct {
	Distribution    string   // one of Definitions.Distributions
	RootPassword    string   // required
	SSHPublicKeys   []string // authorised for root, optional
	FirstbootScript string   // run on first boot, optional
}

// wireImage is the reimage body: the official client always sends all
// four keys, "" for those unset.
type wireImage struct {
	Distribution    string `json:"distribution"`
	FirstbootScript string `json:"firstboot_script"`
	RootPassword    string `json:"root_password"`
	SSHPublicKey    string `json:"ssh_public_key"`
}

func (img ImageInstall) wire() (wireImage, error) {
	switch {
	case img.Distribution == "":
		return wireImage{}, errors.New("bytemark: an image (distribution) is required")
	case img.RootPassword == "":
		return wireImage{}, errors.New("bytemark: a root password is required to install an image")
	}
	return wireImage{
		Distribution:    img.Distribution,
		FirstbootScript: img.FirstbootScript,
		RootPassword:    img.RootPassword,
		SSHPublicKey:    strings.Join(img.SSHPublicKeys, "\n"),
	}, nil
}

// A ServerSpec describes a server to create. Zero values take the
// official client's defaults: 1 core, 1024 MiB and one 25600 MiB sata
// disc.
type ServerSpec struct {
	Cores     int
	MemoryMiB int
	// Discs are created in order; the first is the one an image is
	// installed on. Labels default to disc-1, disc-2…; a grade of ""
	// is sata.
	Discs []DiscSpec
	// Image is installed on the first disc; nil creates the server with
	// no operating system, powered off.
	Image *ImageInstall
	// Stopped leaves an imaged server off after it is built. Otherwise it
	// starts, with autoreboot on, as the official client asks.
	Stopped bool
}

type wireCreateVM struct {
	AutorebootOn bool   `json:"autoreboot_on,omitempty"`
	Cores        int    `json:"cores"`
	Memory       int    `json:"memory"`
	Name         string `json:"name"`
}

type wireCreateDisc struct {
	Label        string `json:"label"`
	StorageGrade string `json:"storage_grade"`
	Size         int    `json:"size"`
}

type wireCreate struct {
	VirtualMachine wireCreateVM     `json:"virtual_machine"`
	Discs          []wireCreateDisc `json:"discs"`
	Reimage        *wireImage       `json:"reimage,omitempty"`
}

// body checks spec and builds the vm_create body.
func (spec ServerSpec) body(name string) (*wireCreate, error) {
	b := &wireCreate{VirtualMachine: wireCreateVM{
		Name:   name,
		Cores:  cmpOr(spec.Cores, DefaultCores),
		Memory: cmpOr(spec.MemoryMiB, DefaultMemoryMiB),
	}}
	discs := spec.Discs
	if len(discs) == 0 {
		discs = []DiscSpec{{SizeMiB: DefaultDiscSizeMiB}}
	}
	if len(discs) > MaxDiscs {
		return nil, fmt.Errorf("bytemark: %d discs; a server can have at most %d", len(discs), MaxDiscs)
	}
	for i, d := range discs {
		label := cmpOr(d.Label, fmt.Sprintf("disc-%d", i+1))
		if err := ValidDiscLabel(label); err != nil {
			return nil, err
		}
		if err := checkSize(d.SizeMiB); err != nil {
			return nil, err
		}
		grade := cmpOr(d.StorageGrade, DefaultStorageGrade)
		if !slices.Contains(StorageGrades(), grade) {
			return nil, fmt.Errorf("bytemark: storage grade %q is not one of %s", grade, strings.Join(StorageGrades(), ", "))
		}
		for _, prev := range b.Discs {
			if prev.Label == label {
				return nil, fmt.Errorf("bytemark: two discs labelled %q", label)
			}
		}
		b.Discs = append(b.Discs, wireCreateDisc{Label: label, StorageGrade: grade, Size: d.SizeMiB})
	}
	if spec.Image != nil {
		img, err := spec.Image.wire()
		if err != nil {
			return nil, err
		}
		b.Reimage = &img
		b.VirtualMachine.AutorebootOn = !spec.Stopped
	}
	return b, nil
}

// CreateServer creates a server, its discs and (with spec.Image) its
// operating system in one request, and returns it as the API answers.
// name is "server" or "server.group[.account]"; the defaults fill in the
// rest. The server can be read at once, but an imaged one takes a while
// to build and boot: poll GetServer for power_on. A name in use in the
// group is refused (IsNameTaken); an unknown group is an
// *UnknownGroupError. Neither error, nor any log line, holds the root
// password.
//
// Bytemark API docs: POST /accounts/{a}/groups/{g}/vm_create
// {"virtual_machine":{…}, "discs":[…], "reimage":{…}}.
func (c *Client) CreateServer(ctx context.Context, name string, spec ServerSpec) (*Server, error) {
	if strings.Count(name, ".") > 2 {
		// A hostname suffix names an existing server; never trim it.
		return nil, fmt.Errorf("bytemark: a new server's name is server[.group[.account]], not %q", name)
	}
	n, err := c.ResolveName(ctx, name)
	if err != nil {
		return nil, err
	}
	body, err := spec.body(n.Server)
	if err != nil {
		return nil, err
	}
	secret := ""
	if spec.Image != nil {
		secret = spec.Image.RootPassword
	}
	s := new(Server)
	if err := c.call(ctx, http.MethodPost, groupPath(n.Account, n.Group)+"/vm_create", body, s); err != nil {
		return nil, withoutSecret(unknownGroup(err, n.Group, n.Account), secret)
	}
	return s, nil
}

// ReimageServer installs an operating system on a server's first disc,
// destroying what was there. The server must be powered off (the API
// refuses a running one with a 400); when the image is installed it powers
// on, with autoreboot off. Neither the error nor any log line holds the
// root password.
//
// Bytemark API docs: POST .../virtual_machines/{vm}/reimage
// {"distribution","firstboot_script","root_password","ssh_public_key"}.
func (c *Client) ReimageServer(ctx context.Context, name string, img ImageInstall) error {
	body, err := img.wire()
	if err != nil {
		return err
	}
	err = c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		return c.call(ctx, http.MethodPost, n.path()+"/reimage", body, nil)
	})
	return withoutSecret(err, img.RootPassword)
}

// RescueServer restarts a server into the rescue appliance, a live system
// from which its discs can be repaired. A running server is shut down as
// ShutdownServer does (a *PowerTimeoutError if it does not power off in
// time, and then nothing is started); a server that is off is started
// straight into rescue. The appliance is not permanent: the next start
// (StartServer, or RestartServer) boots the server's own system again.
//
// Bytemark API docs: the shutdown steps, then PUT .../virtual_machines/{vm}
// {"autoreboot_on":true,"power_on":true,"appliance":{"name":"rescue","permanent":false}}.
func (c *Client) RescueServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		s, err := c.getServer(ctx, n)
		if err != nil {
			return err
		}
		if s.Deleted {
			return fmt.Errorf("bytemark: rescue %s: the server is deleted", n)
		}
		if s.PowerOn {
			if err := c.shutdown(ctx, n, "rescue"); err != nil {
				return err
			}
			if err := c.startAppliance(ctx, n, RescueAppliance); err != nil {
				return fmt.Errorf("bytemark: rescue %s: the server shut down but did not start in rescue: %w", n, err)
			}
			return nil
		}
		return c.startAppliance(ctx, n, RescueAppliance)
	})
}

// StartServerRescue starts a server that is off into the rescue appliance,
// for once.
//
// Bytemark API docs: PUT .../virtual_machines/{vm}
// {"autoreboot_on":true,"power_on":true,"appliance":{"name":"rescue","permanent":false}}.
func (c *Client) StartServerRescue(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		return c.startAppliance(ctx, n, RescueAppliance)
	})
}

func (c *Client) startAppliance(ctx context.Context, n Name, appliance string) error {
	return c.put(ctx, n, map[string]any{
		"autoreboot_on": true,
		"power_on":      true,
		"appliance":     map[string]any{"name": appliance, "permanent": false},
	})
}

// withoutSecret removes secret from err's text: from an *Error's message
// and problems in place and, should the text still hold it anywhere else,
// by replacing err with a plain error of the scrubbed text.
func withoutSecret(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		e.Message = strings.ReplaceAll(e.Message, secret, "[redacted]")
		for k, msgs := range e.Problems {
			for i := range msgs {
				msgs[i] = strings.ReplaceAll(msgs[i], secret, "[redacted]")
			}
			if rk := strings.ReplaceAll(k, secret, "[redacted]"); rk != k {
				delete(e.Problems, k)
				e.Problems[rk] = msgs
			}
		}
	}
	if msg := err.Error(); strings.Contains(msg, secret) {
		return errors.New(strings.ReplaceAll(msg, secret, "[redacted]"))
	}
	return err
}

// DefaultDefinitionsMaxAge is how long CachedDefinitions keeps the
// definitions by default.
const DefaultDefinitionsMaxAge = time.Hour

// defsCache holds the last definitions read. Its zero value is empty.
type defsCache struct {
	mu       sync.Mutex
	defs     *Definitions
	at       time.Time
	inflight chan struct{} // closed when the read under way ends
}

// CachedDefinitions returns the definitions read at most maxAge ago (0
// means DefaultDefinitionsMaxAge), reading them again when they are older.
// Concurrent callers share one read. A failed read is not cached. The
// result is the caller's own copy.
func (c *Client) CachedDefinitions(ctx context.Context, maxAge time.Duration) (*Definitions, error) {
	maxAge = cmpOr(maxAge, DefaultDefinitionsMaxAge)
	dc := &c.defs
	for {
		dc.mu.Lock()
		if dc.defs != nil && c.now().Sub(dc.at) < maxAge {
			d := dc.defs.clone()
			dc.mu.Unlock()
			return d, nil
		}
		if wait := dc.inflight; wait != nil {
			dc.mu.Unlock()
			select {
			case <-wait:
				continue // use what it read, or read again if it failed
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		dc.inflight = done
		dc.mu.Unlock()

		d, err := c.Definitions(ctx)
		dc.mu.Lock()
		if err == nil {
			dc.defs, dc.at = d, c.now()
		}
		dc.inflight = nil
		dc.mu.Unlock()
		close(done)
		if err != nil {
			return nil, err
		}
		return d.clone(), nil
	}
}

// HasDistribution reports whether name is one of the distributions.
func (d *Definitions) HasDistribution(name string) bool {
	return slices.Contains(d.Distributions, name)
}

func (d *Definitions) clone() *Definitions {
	out := &Definitions{
		Distributions:            slices.Clone(d.Distributions),
		StorageGrades:            slices.Clone(d.StorageGrades),
		ZoneNames:                slices.Clone(d.ZoneNames),
		HardwareProfiles:         slices.Clone(d.HardwareProfiles),
		Keymaps:                  slices.Clone(d.Keymaps),
		Sendkeys:                 slices.Clone(d.Sendkeys),
		DistributionDescriptions: maps.Clone(d.DistributionDescriptions),
	}
	return out
}
