package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// recorder is a Cloud that notes each call it passes on, one line for
// people, e.g. "PUT start web1".
type recorder struct {
	c     Cloud
	calls []string
}

func (r *recorder) note(err error, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if err != nil {
		line += " (failed)"
	}
	r.calls = append(r.calls, line)
}

func (r *recorder) ListServers(ctx context.Context, group string) ([]bytemark.Server, error) {
	ss, err := r.c.ListServers(ctx, group)
	if group == "" {
		group = "(default group)"
	}
	r.note(err, "GET servers %s", group)
	return ss, err
}

func (r *recorder) ResolveName(ctx context.Context, s string) (bytemark.Name, error) {
	return r.c.ResolveName(ctx, s) // no call to the API worth noting
}

func (r *recorder) AccountOverview(ctx context.Context, account string) (*bytemark.Account, error) {
	acc, err := r.c.AccountOverview(ctx, account)
	if account == "" {
		account = "(default account)"
	}
	r.note(err, "GET account %s", account)
	return acc, err
}

func (r *recorder) GetServer(ctx context.Context, name string) (*bytemark.Server, error) {
	s, err := r.c.GetServer(ctx, name)
	r.note(err, "GET server %s", name)
	return s, err
}

func (r *recorder) StartServer(ctx context.Context, name string) error {
	err := r.c.StartServer(ctx, name)
	r.note(err, "PUT start %s", name)
	return err
}

func (r *recorder) StopServer(ctx context.Context, name string) error {
	err := r.c.StopServer(ctx, name)
	r.note(err, "PUT stop %s", name)
	return err
}

func (r *recorder) ResetServer(ctx context.Context, name string) error {
	err := r.c.ResetServer(ctx, name)
	r.note(err, "POST reset %s", name)
	return err
}

func (r *recorder) ShutdownServer(ctx context.Context, name string) error {
	err := r.c.ShutdownServer(ctx, name)
	r.note(err, "POST shutdown %s (and wait for power off)", name)
	return err
}

func (r *recorder) RestartServer(ctx context.Context, name string) error {
	err := r.c.RestartServer(ctx, name)
	r.note(err, "POST restart %s (shutdown, wait, start)", name)
	return err
}

func (r *recorder) CycleServer(ctx context.Context, name string) error {
	err := r.c.CycleServer(ctx, name)
	r.note(err, "PUT power cycle %s (stop, start)", name)
	return err
}

func (r *recorder) DeleteServer(ctx context.Context, name string) error {
	err := r.c.DeleteServer(ctx, name)
	r.note(err, "DELETE server %s", name)
	return err
}

func (r *recorder) UndeleteServer(ctx context.Context, name string) error {
	err := r.c.UndeleteServer(ctx, name)
	r.note(err, "PUT undelete %s", name)
	return err
}

func (r *recorder) PurgeServer(ctx context.Context, name string) error {
	err := r.c.PurgeServer(ctx, name)
	r.note(err, "DELETE purge server %s", name)
	return err
}

func (r *recorder) Discs(ctx context.Context, server string) ([]bytemark.Disc, error) {
	ds, err := r.c.Discs(ctx, server)
	r.note(err, "GET discs %s", server)
	return ds, err
}

func (r *recorder) AddDisc(ctx context.Context, server string, d bytemark.DiscSpec) (*bytemark.Disc, error) {
	nd, err := r.c.AddDisc(ctx, server, d)
	r.note(err, "POST disc %s %s %s %s", server, d.Label, FormatSize(d.SizeMiB), d.StorageGrade)
	return nd, err
}

func (r *recorder) ResizeDisc(ctx context.Context, server, label string, sizeMiB int) (*bytemark.Disc, error) {
	d, err := r.c.ResizeDisc(ctx, server, label, sizeMiB)
	r.note(err, "PUT disc %s %s %s", server, label, FormatSize(sizeMiB))
	return d, err
}

func (r *recorder) PurgeDisc(ctx context.Context, server, label string) error {
	err := r.c.PurgeDisc(ctx, server, label)
	r.note(err, "DELETE purge disc %s %s", server, label)
	return err
}

func (r *recorder) UpdateServer(ctx context.Context, name string, u bytemark.ServerUpdate) (*bytemark.Server, error) {
	s, err := r.c.UpdateServer(ctx, name, u)
	var what []string
	if u.Cores != nil {
		what = append(what, fmt.Sprintf("cores %d", *u.Cores))
	}
	if u.MemoryMiB != nil {
		what = append(what, "memory "+FormatSize(*u.MemoryMiB))
	}
	if u.Name != nil {
		what = append(what, "name "+*u.Name)
	}
	if u.GroupID != nil {
		what = append(what, fmt.Sprintf("group_id %d", *u.GroupID))
	}
	r.note(err, "PUT server %s %s", name, strings.Join(what, " "))
	return s, err
}

func (r *recorder) MoveServer(ctx context.Context, name, group string) (*bytemark.Server, error) {
	s, err := r.c.MoveServer(ctx, name, group)
	r.note(err, "PUT move %s to group %s", name, group)
	return s, err
}

func (r *recorder) GetGroup(ctx context.Context, group string) (*bytemark.Group, error) {
	g, err := r.c.GetGroup(ctx, group)
	if group == "" {
		group = "(default group)"
	}
	r.note(err, "GET group %s", group)
	return g, err
}

// CreateServer passes the call on; the note leaves the root password out.
func (r *recorder) CreateServer(ctx context.Context, name string, spec bytemark.ServerSpec) (*bytemark.Server, error) {
	s, err := r.c.CreateServer(ctx, name, spec)
	image := "no image"
	if spec.Image != nil {
		image = "image " + spec.Image.Distribution
	}
	r.note(err, "POST vm_create %s (%s)", name, image)
	return s, err
}

// ReimageServer passes the call on; the note leaves the root password out.
func (r *recorder) ReimageServer(ctx context.Context, name string, img bytemark.ImageInstall) error {
	err := r.c.ReimageServer(ctx, name, img)
	r.note(err, "POST reimage %s with %s", name, img.Distribution)
	return err
}

func (r *recorder) RescueServer(ctx context.Context, name string) error {
	err := r.c.RescueServer(ctx, name)
	r.note(err, "PUT start %s in rescue (after a shutdown if it was on)", name)
	return err
}

func (r *recorder) CachedDefinitions(ctx context.Context, maxAge time.Duration) (*bytemark.Definitions, error) {
	d, err := r.c.CachedDefinitions(ctx, maxAge)
	r.note(err, "GET definitions (cached)")
	return d, err
}
