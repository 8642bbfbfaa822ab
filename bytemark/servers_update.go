package bytemark

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// A ServerUpdate is a change to a server's settings. Nil fields are left
// as they are: the API's PUT has PATCH semantics. The API judges the
// values (its 400 says which are wrong); the client only sends them.
type ServerUpdate struct {
	Cores     *int    // number of cores
	MemoryMiB *int    // memory in MiB (the API takes 512 or whole GiB)
	Name      *string // new name, in the group the server ends up in
	GroupID   *int    // the group to move to; the server must be off (see MoveServer)
}

func (u ServerUpdate) body() map[string]any {
	b := make(map[string]any)
	if u.Cores != nil {
		b["cores"] = *u.Cores
	}
	if u.MemoryMiB != nil {
		b["memory"] = *u.MemoryMiB
	}
	if u.Name != nil {
		b["name"] = *u.Name
	}
	if u.GroupID != nil {
		b["group_id"] = *u.GroupID
	}
	return b
}

// UpdateServer changes a server's cores, memory, name or group in one PUT
// and returns the server as the API answers it. A refusal is an *Error:
// a 400 lists the problems by attribute (see IsNameTaken), and nothing
// was changed. Cores and memory changes to a running server take effect
// when it next starts.
//
// Bytemark API docs: PUT /accounts/{a}/groups/{g}/virtual_machines/{vm}
// {"cores":N, "memory":MiB, "name":"new", "group_id":N} (any subset).
func (c *Client) UpdateServer(ctx context.Context, name string, u ServerUpdate) (*Server, error) {
	body := u.body()
	if len(body) == 0 {
		return nil, errors.New("bytemark: update server: nothing to change")
	}
	var s *Server
	err := c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		var err error
		s, err = c.update(ctx, n, body)
		return err
	})
	return s, err
}

// update PUTs body to n and returns the server the API answers with.
func (c *Client) update(ctx context.Context, n Name, body map[string]any) (*Server, error) {
	s := new(Server)
	if err := c.call(ctx, http.MethodPut, n.path(), body, s); err != nil {
		return nil, err
	}
	if s.ID == 0 {
		// No body: read it back where it now is, if that is known.
		if _, moved := body["group_id"]; !moved {
			if newName, renamed := body["name"].(string); renamed {
				n.Server = newName
			}
			return c.getServer(ctx, n)
		}
	}
	return s, nil
}

// MoveServer moves a server to another group, given as "group" or
// "group.account" (a group alone is in the default account). It reads the
// group for its ID, then PUTs the server's group_id. The server must be
// powered off: the API refuses to move a running one (a 400 naming
// group_id). An unknown group is an *UnknownGroupError, and nothing is
// changed.
//
// Bytemark API docs: GET /accounts/{a}/groups/{g}, then
// PUT .../virtual_machines/{vm} {"group_id":N}.
func (c *Client) MoveServer(ctx context.Context, name, group string) (*Server, error) {
	if group == "" {
		return nil, errors.New("bytemark: move server: a target group is required")
	}
	var s *Server
	err := c.resolved(ctx, name, func(ctx context.Context, n Name) error {
		g, err := c.GetGroup(ctx, group)
		if err != nil {
			return err
		}
		s, err = c.update(ctx, n, map[string]any{"group_id": g.ID})
		return err
	})
	return s, err
}

// GetGroup reads a group, "group" or "group.account" ("" is the default
// group of the default account). A group that does not exist, or that the
// login cannot see, is an *UnknownGroupError (IsNotFound holds too).
//
// Bytemark API docs: GET /accounts/{a}/groups/{g}.
func (c *Client) GetGroup(ctx context.Context, group string) (*Group, error) {
	g, account, err := c.resolveGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	grp := new(Group)
	if err := c.call(ctx, http.MethodGet, groupPath(account, g), nil, grp); err != nil {
		return nil, unknownGroup(err, g, account)
	}
	return grp, nil
}

// resolveGroup parses "group" or "group.account" and fills in the
// defaults.
func (c *Client) resolveGroup(ctx context.Context, group string) (g, account string, err error) {
	g, account, err = parseGroup(group)
	if err != nil {
		return "", "", err
	}
	if g == "" {
		g = c.group
	}
	if account == "" {
		if account, err = c.defaultAccount(ctx); err != nil {
			return "", "", err
		}
	}
	return g, account, nil
}

// UnknownGroupError reports that a group does not exist or that the login
// cannot see it (the API answers 404 for both). Err is the API's error.
type UnknownGroupError struct {
	Group string // group.account
	Err   error
}

// Error says which group is unknown.
func (e *UnknownGroupError) Error() string {
	return fmt.Sprintf("bytemark: no group %s (or the login cannot see it)", e.Group)
}

// Unwrap returns the API's error.
func (e *UnknownGroupError) Unwrap() error { return e.Err }

// unknownGroup turns a 404 from a group path into an *UnknownGroupError.
func unknownGroup(err error, group, account string) error {
	if IsNotFound(err) {
		return &UnknownGroupError{Group: group + "." + account, Err: err}
	}
	return err
}

// IsNameTaken reports whether err is the API's refusal of a server name
// already in use in the group (a 400 with "name": ["has already been
// taken"]). Deleted servers keep their names until they are purged.
func IsNameTaken(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusBadRequest &&
		slices.Contains(e.Problems["name"], "has already been taken")
}
