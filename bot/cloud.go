package bot

import (
	"context"
	"errors"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// timedCloud is a Cloud whose calls are timed into the Bytemark API latency
// histogram (bytebot_bytemark_api_duration_seconds).
type timedCloud struct {
	Cloud
	observe func(call string, start time.Time, err error)
}

func (s *Server) observeAPI(call string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.metrics.apiLatency.WithLabelValues(call, outcome).Observe(time.Since(start).Seconds())
}

// Ping implements Cloud.
func (c *timedCloud) Ping(ctx context.Context) error {
	start := time.Now()
	err := c.Cloud.Ping(ctx)
	c.observe("ping", start, err)
	return err
}

// ListServers implements Cloud.
func (c *timedCloud) ListServers(ctx context.Context, group string) ([]bytemark.Server, error) {
	start := time.Now()
	v, err := c.Cloud.ListServers(ctx, group)
	c.observe("list_servers", start, err)
	return v, err
}

// GetServer implements Cloud.
func (c *timedCloud) GetServer(ctx context.Context, name string) (*bytemark.Server, error) {
	start := time.Now()
	v, err := c.Cloud.GetServer(ctx, name)
	c.observe("get_server", start, err)
	return v, err
}

// StartServer implements Cloud.
func (c *timedCloud) StartServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.StartServer(ctx, name)
	c.observe("start_server", start, err)
	return err
}

// StopServer implements Cloud.
func (c *timedCloud) StopServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.StopServer(ctx, name)
	c.observe("stop_server", start, err)
	return err
}

// ResetServer implements Cloud.
func (c *timedCloud) ResetServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.ResetServer(ctx, name)
	c.observe("reset_server", start, err)
	return err
}

// ShutdownServer implements Cloud.
func (c *timedCloud) ShutdownServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.ShutdownServer(ctx, name)
	c.observe("shutdown_server", start, err)
	return err
}

// RestartServer implements Cloud.
func (c *timedCloud) RestartServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.RestartServer(ctx, name)
	c.observe("restart_server", start, err)
	return err
}

// CycleServer implements Cloud.
func (c *timedCloud) CycleServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.CycleServer(ctx, name)
	c.observe("cycle_server", start, err)
	return err
}

// DeleteServer implements Cloud.
func (c *timedCloud) DeleteServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.DeleteServer(ctx, name)
	c.observe("delete_server", start, err)
	return err
}

// UndeleteServer implements Cloud.
func (c *timedCloud) UndeleteServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.UndeleteServer(ctx, name)
	c.observe("undelete_server", start, err)
	return err
}

// PurgeServer implements Cloud.
func (c *timedCloud) PurgeServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.PurgeServer(ctx, name)
	c.observe("purge_server", start, err)
	return err
}

// Discs implements Cloud.
func (c *timedCloud) Discs(ctx context.Context, server string) ([]bytemark.Disc, error) {
	start := time.Now()
	v, err := c.Cloud.Discs(ctx, server)
	c.observe("discs", start, err)
	return v, err
}

// AddDisc implements Cloud.
func (c *timedCloud) AddDisc(ctx context.Context, server string, d bytemark.DiscSpec) (*bytemark.Disc, error) {
	start := time.Now()
	v, err := c.Cloud.AddDisc(ctx, server, d)
	c.observe("add_disc", start, err)
	return v, err
}

// ResizeDisc implements Cloud.
func (c *timedCloud) ResizeDisc(ctx context.Context, server, label string, sizeMiB int) (*bytemark.Disc, error) {
	start := time.Now()
	v, err := c.Cloud.ResizeDisc(ctx, server, label, sizeMiB)
	c.observe("resize_disc", start, err)
	return v, err
}

// PurgeDisc implements Cloud.
func (c *timedCloud) PurgeDisc(ctx context.Context, server, label string) error {
	start := time.Now()
	err := c.Cloud.PurgeDisc(ctx, server, label)
	c.observe("purge_disc", start, err)
	return err
}

// ResolveName implements Cloud.
func (c *timedCloud) ResolveName(ctx context.Context, s string) (bytemark.Name, error) {
	start := time.Now()
	v, err := c.Cloud.ResolveName(ctx, s)
	c.observe("resolve_name", start, err)
	return v, err
}

// AccountOverview implements Cloud.
func (c *timedCloud) AccountOverview(ctx context.Context, account string) (*bytemark.Account, error) {
	start := time.Now()
	v, err := c.Cloud.AccountOverview(ctx, account)
	c.observe("account_overview", start, err)
	return v, err
}

// Identify implements Cloud.
func (c *timedCloud) Identify(ctx context.Context, name string) (bytemark.Identity, error) {
	start := time.Now()
	v, err := c.Cloud.Identify(ctx, name)
	c.observe("identify", start, err)
	return v, err
}

// DeleteServerByID implements Cloud.
func (c *timedCloud) DeleteServerByID(ctx context.Context, id bytemark.Identity) error {
	start := time.Now()
	err := c.Cloud.DeleteServerByID(ctx, id)
	c.observe("delete_server", start, err)
	return err
}

// PurgeServerByID implements Cloud.
func (c *timedCloud) PurgeServerByID(ctx context.Context, id bytemark.Identity) error {
	start := time.Now()
	err := c.Cloud.PurgeServerByID(ctx, id)
	c.observe("purge_server", start, err)
	return err
}

// UndeleteServerByID implements Cloud.
func (c *timedCloud) UndeleteServerByID(ctx context.Context, id bytemark.Identity) error {
	start := time.Now()
	err := c.Cloud.UndeleteServerByID(ctx, id)
	c.observe("undelete_server", start, err)
	return err
}

// PurgeDiscByID implements Cloud.
func (c *timedCloud) PurgeDiscByID(ctx context.Context, id bytemark.Identity, label string) error {
	start := time.Now()
	err := c.Cloud.PurgeDiscByID(ctx, id, label)
	c.observe("purge_disc", start, err)
	return err
}

// ReimageServerByID implements Cloud.
func (c *timedCloud) ReimageServerByID(ctx context.Context, id bytemark.Identity, img bytemark.ImageInstall) error {
	start := time.Now()
	err := c.Cloud.ReimageServerByID(ctx, id, img)
	c.observe("reimage_server", start, err)
	return err
}

// IdentifyAll implements Cloud.
func (c *timedCloud) IdentifyAll(ctx context.Context, names []string) (map[string]bytemark.Identity, map[string]error) {
	start := time.Now()
	v, errs := c.Cloud.IdentifyAll(ctx, names)
	var err error
	if len(errs) > 0 {
		err = errors.New("some names not identified")
	}
	c.observe("identify_all", start, err)
	return v, errs
}

// UpdateServer implements Cloud.
func (c *timedCloud) UpdateServer(ctx context.Context, name string, u bytemark.ServerUpdate) (*bytemark.Server, error) {
	start := time.Now()
	v, err := c.Cloud.UpdateServer(ctx, name, u)
	c.observe("update_server", start, err)
	return v, err
}

// MoveServer implements Cloud.
func (c *timedCloud) MoveServer(ctx context.Context, name, group string) (*bytemark.Server, error) {
	start := time.Now()
	v, err := c.Cloud.MoveServer(ctx, name, group)
	c.observe("move_server", start, err)
	return v, err
}

// GetGroup implements Cloud.
func (c *timedCloud) GetGroup(ctx context.Context, group string) (*bytemark.Group, error) {
	start := time.Now()
	v, err := c.Cloud.GetGroup(ctx, group)
	c.observe("get_group", start, err)
	return v, err
}

// CreateServer implements Cloud.
func (c *timedCloud) CreateServer(ctx context.Context, name string, spec bytemark.ServerSpec) (*bytemark.Server, error) {
	start := time.Now()
	v, err := c.Cloud.CreateServer(ctx, name, spec)
	c.observe("create_server", start, err)
	return v, err
}

// ReimageServer implements Cloud.
func (c *timedCloud) ReimageServer(ctx context.Context, name string, img bytemark.ImageInstall) error {
	start := time.Now()
	err := c.Cloud.ReimageServer(ctx, name, img)
	c.observe("reimage_server", start, err)
	return err
}

// RescueServer implements Cloud.
func (c *timedCloud) RescueServer(ctx context.Context, name string) error {
	start := time.Now()
	err := c.Cloud.RescueServer(ctx, name)
	c.observe("rescue_server", start, err)
	return err
}

// CachedDefinitions implements Cloud.
func (c *timedCloud) CachedDefinitions(ctx context.Context, maxAge time.Duration) (*bytemark.Definitions, error) {
	start := time.Now()
	v, err := c.Cloud.CachedDefinitions(ctx, maxAge)
	c.observe("definitions", start, err)
	return v, err
}
