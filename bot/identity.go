package bot

import (
	"context"
	"fmt"
	"strconv"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// One server, one identity: web1, web1.default, web1.default.acme, its full
// hostname and numeric IDs in any part (1001, web1.11.acme) are one server
// to every guard. A job resolves its server once (Cloud.Identify) and keys
// the per-server lock, the reboot cooldown, the daily cap and the fleet
// brake on the numeric ID; people are shown the canonical name
// name.group.account; the calls that destroy name the server by the ID.

// ServerKey is the key of a server's guards (the per-server lock here; the
// cooldown, daily cap and fleet brake of the monitoring webhooks): its
// numeric ID, or, for a server the API doesn't know (nothing to guard: the
// action will fail), the name as resolved.
func ServerKey(id bytemark.Identity, name string) string {
	if id.ID > 0 {
		return strconv.Itoa(id.ID)
	}
	return "name:" + name
}

// identityOf returns the identity recorded in an approval snapshot: the ID
// and the canonical name of its hostname, as the approvers saw them.
func identityOf(snap snapshot) (bytemark.Identity, bool) {
	n, err := bytemark.ParseName(snap.Hostname)
	if err != nil || snap.ID <= 0 || n.Account == "" {
		return bytemark.Identity{}, false
	}
	return bytemark.Identity{ID: snap.ID, Name: n.Short(), Hostname: n.String()}, true
}

// resolve identifies the server of the job's action, once, before it runs
// (and before the queue records it as started, so that the audit log names
// the server canonically). An approved ticket's job is left alone: it runs
// on the identity in its snapshot. A server the API doesn't know is left
// unidentified (the action fails with its own message); any other failure,
// a wrong hostname suffix among them, refuses the job in run.
func (e *execution) resolve(ctx context.Context) {
	if e.job.TicketID != "" {
		return
	}
	a, err := commands.Parse(e.job.Command)
	if err != nil || a.Server() == "" {
		return
	}
	id, err := e.s.api.Identify(ctx, a.Server())
	switch {
	case err == nil:
		e.setID(id)
	case bytemark.IsNotFound(err):
		if n, err := e.s.api.ResolveName(ctx, a.Server()); err == nil {
			e.job.Server = n.String()
		}
	default:
		e.idErr = err
	}
}

// setID records the job's server identity, and its canonical name and ID
// for the audit log.
func (e *execution) setID(id bytemark.Identity) {
	e.id = id
	e.job.Server = id.Name.String()
	if e.job.Meta == nil {
		e.job.Meta = map[string]string{}
	}
	e.job.Meta[approvals.MetaServerID] = strconv.Itoa(id.ID)
}

// refuseUnidentified ends a job whose server couldn't be identified.
func (e *execution) refuseUnidentified(ctx context.Context, a commands.Action) (string, bool) {
	err := commands.Explain(a, e.idErr)
	outcome := "failed"
	if bytemark.IsWrongSuffix(err) {
		outcome = "refused"
	} else {
		e.logErr("identifying the server", e.idErr)
	}
	e.post(ctx, e.job.Channel, e.job.ThreadTS, fmt.Sprintf(":x: Not running %s (for %s): %s", commands.Code(a.String()), slackui.Mention(e.job.RequestedBy), e.cloudErrorText(a, err)))
	return outcome, true
}

// cloudFor is the Cloud an action runs against: once its server's identity
// is known, the calls that destroy (delete, purge, disc purge, reimage) name the
// server by its numeric ID, so that a rename between the last check and the
// call can't redirect them to another server.
func (e *execution) cloudFor(a commands.Action) commands.Cloud {
	if e.id.ID <= 0 || a.Server() == "" {
		return e.s.api
	}
	return &pinnedCloud{Cloud: e.s.api, target: a.Server(), id: e.id}
}

// pinnedCloud is a Cloud whose destroying calls on target go to id.
type pinnedCloud struct {
	Cloud
	target string
	id     bytemark.Identity
}

func (c *pinnedCloud) check(name string) error {
	if name != c.target {
		return fmt.Errorf("bot: a call on %s in a job on %s (server %d)", name, c.target, c.id.ID)
	}
	return nil
}

// DeleteServer implements commands.Cloud.
func (c *pinnedCloud) DeleteServer(ctx context.Context, name string) error {
	if err := c.check(name); err != nil {
		return err
	}
	return c.Cloud.DeleteServerByID(ctx, c.id)
}

// PurgeServer implements commands.Cloud.
func (c *pinnedCloud) PurgeServer(ctx context.Context, name string) error {
	if err := c.check(name); err != nil {
		return err
	}
	return c.Cloud.PurgeServerByID(ctx, c.id)
}

// PurgeDisc implements commands.Cloud.
func (c *pinnedCloud) PurgeDisc(ctx context.Context, name, label string) error {
	if err := c.check(name); err != nil {
		return err
	}
	return c.Cloud.PurgeDiscByID(ctx, c.id, label)
}

// ReimageServer implements commands.Cloud.
func (c *pinnedCloud) ReimageServer(ctx context.Context, name string, img bytemark.ImageInstall) error {
	if err := c.check(name); err != nil {
		return err
	}
	return c.Cloud.ReimageServerByID(ctx, c.id, img)
}
