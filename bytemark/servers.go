package bytemark

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// lastLookTimeout bounds the final power-state read after PowerTimeout.
const lastLookTimeout = 10 * time.Second

// ListServers lists the servers of a group that are not deleted, with
// their discs and network interfaces, in one request. group is "" (the
// default group), "group" or "group.account".
//
// Bytemark API docs: GET /accounts/{account}/groups/{group}?view=overview&include_deleted=true.
func (c *Client) ListServers(ctx context.Context, group string) ([]Server, error) {
	g, account, err := parseGroup(group)
	if err != nil {
		return nil, err
	}
	if g == "" {
		g = c.group
	}
	if account == "" {
		if account, err = c.defaultAccount(ctx); err != nil {
			return nil, err
		}
	}
	req, err := c.NewRequest(ctx, http.MethodGet, groupPath(account, g)+"?view=overview&include_deleted=true", nil)
	if err != nil {
		return nil, err
	}
	var grp Group
	if err := c.Do(req, &grp); err != nil {
		return nil, err
	}
	servers := make([]Server, 0, len(grp.Servers))
	for _, s := range grp.Servers {
		if !s.Deleted {
			servers = append(servers, s)
		}
	}
	return servers, nil
}

// GetServer reads a server, deleted or not, with its discs and network
// interfaces. A name with a suffix is refused (a *SuffixError) unless the
// suffix is that of the server's hostname.
//
// Bytemark API docs: GET /accounts/{a}/groups/{g}/virtual_machines/{vm}?include_deleted=true&view=overview.
func (c *Client) GetServer(ctx context.Context, name string) (*Server, error) {
	n, err := c.ResolveName(ctx, name)
	if err != nil {
		return nil, err
	}
	s, err := c.getServer(ctx, n)
	if err != nil {
		return nil, err
	}
	if n.Suffix != "" {
		if _, err := identify(n, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (c *Client) getServer(ctx context.Context, n Name) (*Server, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, n.path()+"?include_deleted=true&view=overview", nil)
	if err != nil {
		return nil, err
	}
	s := new(Server)
	if err := c.Do(req, s); err != nil {
		return nil, err
	}
	return s, nil
}

// StartServer powers a server on, with autoreboot on.
//
// Bytemark API docs: PUT .../virtual_machines/{vm} {"autoreboot_on":true,"power_on":true}.
func (c *Client) StartServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, c.start)
}

// StopServer pulls the plug: power and autoreboot off, no shutdown.
//
// Bytemark API docs: PUT .../virtual_machines/{vm} {"autoreboot_on":false,"power_on":false}.
func (c *Client) StopServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, c.stop)
}

// ResetServer resets a running server at once, like a reset button. The
// server keeps running; pending hardware changes are not applied.
//
// Bytemark API docs: POST .../virtual_machines/{vm}/signal {"signal":"reset"}.
func (c *Client) ResetServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		return c.signal(ctx, n, "reset")
	})
}

// ShutdownServer turns autoreboot off, presses the ACPI power button and
// waits for the server to power off, polling with backoff up to
// Options.PowerTimeout (or the end of ctx). If it is still on then, the
// error is a *PowerTimeoutError.
//
// Bytemark API docs: PUT {"autoreboot_on":false}, POST signal {"signal":"powerdown"}, GET until power_on is false.
func (c *Client) ShutdownServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		return c.shutdown(ctx, n, "shutdown")
	})
}

// RestartServer shuts a server down as ShutdownServer does, then starts it.
// If it does not power off in time, the error is a *PowerTimeoutError and
// nothing is started.
func (c *Client) RestartServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		if err := c.shutdown(ctx, n, "restart"); err != nil {
			return err
		}
		if err := c.start(ctx, n); err != nil {
			return fmt.Errorf("bytemark: restart %s: the server shut down but did not start: %w", n, err)
		}
		return nil
	})
}

// CycleServer power-cycles a server: it pulls the plug, then starts it.
func (c *Client) CycleServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		if err := c.stop(ctx, n); err != nil {
			return err
		}
		if err := c.start(ctx, n); err != nil {
			return fmt.Errorf("bytemark: cycle %s: the server was stopped but did not start: %w", n, err)
		}
		return nil
	})
}

// DeleteServer deletes a server softly: it goes down and can be undeleted
// for a while.
//
// Bytemark API docs: DELETE .../virtual_machines/{vm}.
func (c *Client) DeleteServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		return c.call(ctx, http.MethodDelete, n.path(), nil, nil)
	})
}

// UndeleteServer restores a deleted server.
//
// Bytemark API docs: PUT .../virtual_machines/{vm} {"deleted":false}.
func (c *Client) UndeleteServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		return c.put(ctx, n, map[string]bool{"deleted": false})
	})
}

// PurgeServer removes a server, deleted or not, for good: its discs are
// erased and its name and addresses freed. It cannot be undone.
//
// Bytemark API docs: DELETE .../virtual_machines/{vm}?purge=true.
func (c *Client) PurgeServer(ctx context.Context, name string) error {
	return c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		return c.call(ctx, http.MethodDelete, n.path()+"?purge=true", nil, nil)
	})
}

// resolved resolves name (checking its suffix) and runs f with it.
func (c *Client) resolved(ctx context.Context, name string, f func(context.Context, Name) error) error {
	n, err := c.target(ctx, name)
	if err != nil {
		return err
	}
	return f(ctx, n)
}

// call makes one request and decodes the response into v.
func (c *Client) call(ctx context.Context, method, path string, body, v any) error {
	req, err := c.NewRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	return c.Do(req, v)
}

func (c *Client) put(ctx context.Context, n Name, body any) error {
	return c.call(ctx, http.MethodPut, n.path(), body, nil)
}

func (c *Client) start(ctx context.Context, n Name) error {
	return c.put(ctx, n, map[string]bool{"autoreboot_on": true, "power_on": true})
}

func (c *Client) stop(ctx context.Context, n Name) error {
	return c.put(ctx, n, map[string]bool{"autoreboot_on": false, "power_on": false})
}

func (c *Client) signal(ctx context.Context, n Name, signal string) error {
	return c.call(ctx, http.MethodPost, n.path()+"/signal", map[string]string{"signal": signal}, nil)
}

// shutdown turns autoreboot off, sends the powerdown signal and waits for
// power off. action names the operation in errors.
func (c *Client) shutdown(ctx context.Context, n Name, action string) error {
	if err := c.put(ctx, n, map[string]bool{"autoreboot_on": false}); err != nil {
		return err
	}
	if err := c.signal(ctx, n, "powerdown"); err != nil {
		return fmt.Errorf("bytemark: %s %s: autoreboot was turned off but the powerdown signal failed: %w", action, n, err)
	}
	return c.waitOff(ctx, n, action)
}

// waitOff polls the server until it is off, waiting c.pollEvery at first
// and doubling up to 8 times that, for at most c.powerWait.
func (c *Client) waitOff(ctx context.Context, n Name, action string) error {
	start := c.now()
	pctx, cancel := context.WithTimeout(ctx, c.powerWait)
	defer cancel()
	wait := c.pollEvery
	for sleep(pctx, wait) == nil {
		s, err := c.getServer(pctx, n)
		if err != nil {
			if pctx.Err() != nil {
				break
			}
			return fmt.Errorf("bytemark: %s %s: the powerdown signal was sent but reading the power state failed: %w", action, n, err)
		}
		if !s.PowerOn {
			return nil
		}
		c.log.DebugContext(ctx, "bytemark: waiting for power off", "server", n.String(), "action", action)
		wait = min(wait*2, 8*c.pollEvery)
	}
	if ctx.Err() == nil {
		// One last look: it may have gone off while we slept.
		lctx, cancel := context.WithTimeout(ctx, lastLookTimeout)
		s, err := c.getServer(lctx, n)
		cancel()
		if err == nil && !s.PowerOn {
			return nil
		}
	}
	return &PowerTimeoutError{Server: n.String(), Action: action, Waited: c.now().Sub(start), PowerOn: true, Err: ctx.Err()}
}
