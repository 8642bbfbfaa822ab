package bytemark

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// MaxDiscs is the most discs a server can have.
const MaxDiscs = 8

// MaxDiscSizeMiB is the largest disc, in MiB (2 TiB).
const MaxDiscSizeMiB = 2 * 1024 * 1024

// maxLabelLen bounds a disc label.
const maxLabelLen = 63

// StorageGrades returns the storage grades a new disc may have; the first
// is the API's default.
func StorageGrades() []string { return []string{"sata", "archive", "ssd"} }

// ValidDiscLabel checks a label for a new disc: 1 to 63 characters of a-z,
// 0-9, "-" and "_", starting with a letter or digit, and not a Unix device
// name such as vda, sdb, hdc or xvda, which the API refuses.
func ValidDiscLabel(label string) error {
	if label == "" {
		return errors.New("bytemark: a disc label is required")
	}
	if len(label) > maxLabelLen {
		return fmt.Errorf("bytemark: disc label %q is longer than %d characters", label[:16]+"…", maxLabelLen)
	}
	for i, r := range label {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))) {
			return fmt.Errorf("bytemark: disc label %q must be lower-case letters, digits, - and _, starting with a letter or digit", label)
		}
	}
	if IsDeviceName(label) {
		return fmt.Errorf("bytemark: disc label %q looks like a Unix device name, which the API refuses; try a name such as data or disc-2", label)
	}
	return nil
}

// IsDeviceName reports whether label looks like a Unix device name, which
// the API refuses as the label of a new disc: vda, sdb, hdc and their
// successors (vdaa, xvdb1), and NVMe names, in any case. Words that merely
// start the same way (vdata, sdcard) are fine.
func IsDeviceName(label string) bool { return deviceName.MatchString(label) }

var deviceName = regexp.MustCompile(`^(?i:(?:x?vd|sd|hd)[a-z]{1,2}[0-9]*|nvme[0-9]+(?:n[0-9]+)?(?:p[0-9]+)?)$`)

func checkSize(sizeMiB int) error {
	if sizeMiB <= 0 || sizeMiB > MaxDiscSizeMiB {
		return fmt.Errorf("bytemark: disc size %d MiB is out of range (1 to %d MiB)", sizeMiB, MaxDiscSizeMiB)
	}
	return nil
}

// discPath returns the path of a disc of server n; existing discs may have
// legacy labels, so the label is only escaped.
func discPath(n Name, label string) (string, error) {
	switch {
	case label == "":
		return "", errors.New("bytemark: a disc label is required")
	case label == "." || label == ".." || !headerSafe(label):
		return "", fmt.Errorf("bytemark: disc label %q is not a label", label)
	}
	return n.path() + "/discs/" + url.PathEscape(label), nil
}

// Discs lists a server's discs.
//
// Bytemark API docs: GET .../virtual_machines/{vm}/discs.
func (c *Client) Discs(ctx context.Context, server string) ([]Disc, error) {
	n, err := c.target(ctx, server)
	if err != nil {
		return nil, err
	}
	var discs []Disc
	if err := c.call(ctx, http.MethodGet, n.path()+"/discs", nil, &discs); err != nil {
		return nil, err
	}
	return discs, nil
}

// AddDisc adds a disc to a server. The label must pass ValidDiscLabel, the
// size is in MiB and the grade one of StorageGrades ("" means sata). It
// reads the server first and refuses a deleted server, a label in use and
// a ninth disc.
//
// Bytemark API docs: POST .../virtual_machines/{vm}/discs {"label","size","storage_grade"}.
func (c *Client) AddDisc(ctx context.Context, server string, d DiscSpec) (*Disc, error) {
	if err := ValidDiscLabel(d.Label); err != nil {
		return nil, err
	}
	if err := checkSize(d.SizeMiB); err != nil {
		return nil, err
	}
	grade := cmpOr(d.StorageGrade, StorageGrades()[0])
	if !slices.Contains(StorageGrades(), grade) {
		return nil, fmt.Errorf("bytemark: storage grade %q is not one of %s", grade, strings.Join(StorageGrades(), ", "))
	}
	n, err := c.target(ctx, server)
	if err != nil {
		return nil, err
	}
	s, err := c.getServer(ctx, n)
	if err != nil {
		return nil, err
	}
	switch {
	case s.Deleted:
		return nil, fmt.Errorf("bytemark: add disc to %s: the server is deleted", n)
	case len(s.Discs) >= MaxDiscs:
		return nil, fmt.Errorf("bytemark: add disc to %s: it already has %d discs, the most a server can have", n, len(s.Discs))
	}
	for _, old := range s.Discs {
		if strings.EqualFold(old.Label, d.Label) {
			return nil, fmt.Errorf("bytemark: add disc to %s: it already has a disc labelled %q", n, d.Label)
		}
	}
	body := map[string]any{"label": d.Label, "size": d.SizeMiB, "storage_grade": grade}
	disc := new(Disc)
	if err := c.call(ctx, http.MethodPost, n.path()+"/discs", body, disc); err != nil {
		return nil, err
	}
	return disc, nil
}

// ResizeDisc grows a disc to sizeMiB. It reads the disc first and refuses
// to shrink it; a disc already that size is returned unchanged.
//
// Bytemark API docs: PUT .../virtual_machines/{vm}/discs/{label} {"size":N}.
func (c *Client) ResizeDisc(ctx context.Context, server, label string, sizeMiB int) (*Disc, error) {
	if err := checkSize(sizeMiB); err != nil {
		return nil, err
	}
	n, err := c.target(ctx, server)
	if err != nil {
		return nil, err
	}
	path, err := discPath(n, label)
	if err != nil {
		return nil, err
	}
	old := new(Disc)
	if err := c.call(ctx, http.MethodGet, path, nil, old); err != nil {
		return nil, err
	}
	switch {
	case sizeMiB < old.Size:
		return nil, fmt.Errorf("bytemark: resize disc %s on %s: discs can only grow, and %d MiB is smaller than its %d MiB", label, n, sizeMiB, old.Size)
	case sizeMiB == old.Size:
		return old, nil
	}
	disc := new(Disc)
	if err := c.call(ctx, http.MethodPut, path, map[string]int{"size": sizeMiB}, disc); err != nil {
		return nil, err
	}
	if disc.ID == 0 { // no body: report what was asked for
		*disc = *old
		disc.Size = sizeMiB
	}
	return disc, nil
}

// PurgeDisc removes a disc and erases its data. It cannot be undone.
//
// Bytemark API docs: DELETE .../virtual_machines/{vm}/discs/{label}?purge=true.
func (c *Client) PurgeDisc(ctx context.Context, server, label string) error {
	n, err := c.target(ctx, server)
	if err != nil {
		return err
	}
	path, err := discPath(n, label)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, path+"?purge=true", nil, nil)
}
